//! Roles, permissions and data scope: the one place that decides who may touch what.
//!
//! A request becomes an [`Actor`] only through authentication; use cases take the actor and derive the storage
//! scope filter from it, so no handler builds a scope by hand (SECURITY.md ACL-01).

use std::fmt;

use edu_store::ScopeFilter;
use serde::Serialize;

/// Roles. The last three are the separated administrator duties (三员, SECURITY.md ACL-02): mutually exclusive,
/// and none of them holds business write permissions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Role {
    CityAdmin,
    DistrictAdmin,
    SchoolAdmin,
    Teacher,
    Inspector,
    SystemAdmin,
    SecurityAdmin,
    AuditAdmin,
}

impl Role {
    pub const ALL: [Role; 8] = [
        Role::CityAdmin,
        Role::DistrictAdmin,
        Role::SchoolAdmin,
        Role::Teacher,
        Role::Inspector,
        Role::SystemAdmin,
        Role::SecurityAdmin,
        Role::AuditAdmin,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Role::CityAdmin => "city_admin",
            Role::DistrictAdmin => "district_admin",
            Role::SchoolAdmin => "school_admin",
            Role::Teacher => "teacher",
            Role::Inspector => "inspector",
            Role::SystemAdmin => "system_admin",
            Role::SecurityAdmin => "security_admin",
            Role::AuditAdmin => "audit_admin",
        }
    }

    pub fn parse(code: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.code() == code)
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            Role::CityAdmin => "市级管理员",
            Role::DistrictAdmin => "区县管理员",
            Role::SchoolAdmin => "学校管理员",
            Role::Teacher => "教师",
            Role::Inspector => "督查员（只读）",
            Role::SystemAdmin => "系统管理员",
            Role::SecurityAdmin => "安全管理员",
            Role::AuditAdmin => "审计管理员",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            Role::CityAdmin => "City administrator",
            Role::DistrictAdmin => "District administrator",
            Role::SchoolAdmin => "School administrator",
            Role::Teacher => "Teacher",
            Role::Inspector => "Inspector (read-only)",
            Role::SystemAdmin => "System administrator",
            Role::SecurityAdmin => "Security administrator",
            Role::AuditAdmin => "Audit administrator",
        }
    }

    /// One of the three separated administrator duties.
    pub fn is_separated_admin(self) -> bool {
        matches!(
            self,
            Role::SystemAdmin | Role::SecurityAdmin | Role::AuditAdmin
        )
    }

    /// The scope levels this role may be given.
    pub fn allowed_scope(self, scope: &ScopeLevel) -> bool {
        match self {
            Role::CityAdmin | Role::SystemAdmin | Role::SecurityAdmin | Role::AuditAdmin => {
                *scope == ScopeLevel::City
            }
            Role::DistrictAdmin => *scope == ScopeLevel::District,
            Role::SchoolAdmin | Role::Teacher => *scope == ScopeLevel::Institution,
            Role::Inspector => true,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// What an operation needs. Every web route declares one (the route inventory test checks it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Permission {
    /// Org tree, institutions, classes, staff lists (no personal details of minors).
    ViewRegistry,
    /// Pupil lists with masked identifiers.
    ViewPupils,
    /// A pupil's personal record (audited per view).
    ViewPupilDetail,
    /// Reveal a full ID number (needs a reason; audited).
    RevealSensitive,
    EditRegistry,
    ImportData,
    ExportData,
    /// Create, disable users (system administrator).
    ManageUsers,
    /// Unlock accounts, reset passwords, security policy (security administrator).
    ManageSecurity,
    /// Read and export the audit trail (audit administrator).
    ViewAudit,
    /// Scorecards and plan status.
    ViewPlan,
    /// File returns (reports) for one's institution.
    SubmitReports,
    /// Follow up, approve and lock returns of institutions in scope.
    ReviewReports,
    /// Work cases in ledgers (hazards, complaints, ...).
    ManageCases,
    /// Run and publish allocation draws and timetables.
    RunAllocations,
}

impl Permission {
    pub const ALL: [Permission; 15] = [
        Permission::ViewRegistry,
        Permission::ViewPupils,
        Permission::ViewPupilDetail,
        Permission::RevealSensitive,
        Permission::EditRegistry,
        Permission::ImportData,
        Permission::ExportData,
        Permission::ManageUsers,
        Permission::ManageSecurity,
        Permission::ViewAudit,
        Permission::ViewPlan,
        Permission::SubmitReports,
        Permission::ReviewReports,
        Permission::ManageCases,
        Permission::RunAllocations,
    ];
}

/// The role matrix (SECURITY.md ACL-02). Business writers never audit; auditors never write; the system
/// administrator manages accounts but reads no personal data and no audit records.
pub fn role_has(role: Role, permission: Permission) -> bool {
    use Permission::*;
    match role {
        Role::CityAdmin | Role::DistrictAdmin | Role::SchoolAdmin => {
            matches!(
                permission,
                ViewRegistry
                    | ViewPupils
                    | ViewPupilDetail
                    | RevealSensitive
                    | EditRegistry
                    | ImportData
                    | ExportData
                    | ViewPlan
                    | SubmitReports
                    | ReviewReports
                    | ManageCases
                    | RunAllocations
            ) && !(role != Role::SchoolAdmin && permission == SubmitReports)
        }
        Role::Teacher => matches!(
            permission,
            ViewRegistry | ViewPupils | ViewPupilDetail | ViewPlan | SubmitReports | ManageCases
        ),
        Role::Inspector => matches!(permission, ViewRegistry | ViewPupils | ViewPlan),
        Role::SystemAdmin => matches!(permission, ManageUsers | ViewRegistry),
        Role::SecurityAdmin => matches!(permission, ManageSecurity),
        Role::AuditAdmin => matches!(permission, ViewAudit | ViewRegistry | ViewPupils | ViewPlan),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ScopeLevel {
    City,
    District,
    Institution,
}

/// Where an actor may read and write.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Scope {
    City {
        code: String,
    },
    District {
        code: String,
    },
    Institution {
        id: i64,
        code: String,
        district: String,
    },
}

impl Scope {
    pub fn level(&self) -> ScopeLevel {
        match self {
            Scope::City { .. } => ScopeLevel::City,
            Scope::District { .. } => ScopeLevel::District,
            Scope::Institution { .. } => ScopeLevel::Institution,
        }
    }

    pub fn filter(&self) -> ScopeFilter {
        match self {
            Scope::City { .. } => ScopeFilter::All,
            Scope::District { code } => ScopeFilter::District(code.clone()),
            Scope::Institution { id, .. } => ScopeFilter::Institution(*id),
        }
    }

    /// The code shown in the audit trail and the UI.
    pub fn code(&self) -> &str {
        match self {
            Scope::City { code } | Scope::District { code } | Scope::Institution { code, .. } => {
                code
            }
        }
    }

    /// Whether an institution (by id and district) is inside this scope.
    pub fn contains_institution(&self, id: i64, district: &str) -> bool {
        match self {
            Scope::City { .. } => true,
            Scope::District { code } => code == district,
            Scope::Institution { id: own, .. } => *own == id,
        }
    }

    /// Whether a district is visible (an institution user sees its own district's name, not its data).
    pub fn contains_district(&self, district: &str) -> bool {
        match self {
            Scope::City { .. } => true,
            Scope::District { code } => code == district,
            Scope::Institution { .. } => false,
        }
    }
}

/// An authenticated principal with its role and scope. Only `auth` constructs one.
#[derive(Debug, Clone, Serialize)]
pub struct Actor {
    pub user_id: i64,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub scope: Scope,
    #[serde(skip)]
    pub(crate) session_hash: String,
    #[serde(skip)]
    pub csrf_token: String,
    pub must_change_password: bool,
    /// The command-line operator on the server (holds the key file): every permission, whole city.
    #[serde(skip)]
    pub(crate) operator: bool,
}

/// Refusal of an operation; the web layer maps it to 403 (or 404 where existence must not leak).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("permission denied: {0:?}")]
pub struct Forbidden(pub Permission);

impl Actor {
    pub fn can(&self, permission: Permission) -> bool {
        self.operator || (!self.must_change_password && role_has(self.role, permission))
    }

    pub fn require(&self, permission: Permission) -> Result<(), Forbidden> {
        if self.can(permission) {
            Ok(())
        } else {
            Err(Forbidden(permission))
        }
    }

    pub fn scope_filter(&self) -> ScopeFilter {
        self.scope.filter()
    }

    /// A stand-in actor for command-line operations run by the operator on the server.
    pub fn operator(what: &str) -> Actor {
        Actor {
            user_id: 0,
            username: format!("cli:{what}"),
            display_name: "命令行操作员".to_owned(),
            role: Role::CityAdmin,
            scope: Scope::City {
                code: edu_model::DAQING.to_string(),
            },
            session_hash: String::new(),
            csrf_token: String::new(),
            must_change_password: false,
            operator: true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The role matrix of SECURITY.md ACL-02, spelled out so a change to `role_has` must change this table too.
    #[test]
    fn role_matrix_matches_the_spec() {
        use Permission::*;
        let expected: &[(Role, &[Permission])] = &[
            (
                Role::CityAdmin,
                &[
                    ViewRegistry,
                    ViewPupils,
                    ViewPupilDetail,
                    RevealSensitive,
                    EditRegistry,
                    ImportData,
                    ExportData,
                    ViewPlan,
                    ReviewReports,
                    ManageCases,
                    RunAllocations,
                ],
            ),
            (
                Role::DistrictAdmin,
                &[
                    ViewRegistry,
                    ViewPupils,
                    ViewPupilDetail,
                    RevealSensitive,
                    EditRegistry,
                    ImportData,
                    ExportData,
                    ViewPlan,
                    ReviewReports,
                    ManageCases,
                    RunAllocations,
                ],
            ),
            (
                Role::SchoolAdmin,
                &[
                    ViewRegistry,
                    ViewPupils,
                    ViewPupilDetail,
                    RevealSensitive,
                    EditRegistry,
                    ImportData,
                    ExportData,
                    ViewPlan,
                    SubmitReports,
                    ReviewReports,
                    ManageCases,
                    RunAllocations,
                ],
            ),
            (
                Role::Teacher,
                &[
                    ViewRegistry,
                    ViewPupils,
                    ViewPupilDetail,
                    ViewPlan,
                    SubmitReports,
                    ManageCases,
                ],
            ),
            (Role::Inspector, &[ViewRegistry, ViewPupils, ViewPlan]),
            (Role::SystemAdmin, &[ManageUsers, ViewRegistry]),
            (Role::SecurityAdmin, &[ManageSecurity]),
            (
                Role::AuditAdmin,
                &[ViewAudit, ViewRegistry, ViewPupils, ViewPlan],
            ),
        ];
        for (role, allowed) in expected {
            for permission in Permission::ALL {
                assert_eq!(
                    role_has(*role, permission),
                    allowed.contains(&permission),
                    "{role:?} / {permission:?}"
                );
            }
        }
    }

    #[test]
    fn separated_duties_do_not_overlap() {
        // The system admin cannot read audit; the audit admin cannot write; the security admin sees no data.
        assert!(!role_has(Role::SystemAdmin, Permission::ViewAudit));
        assert!(!role_has(Role::SystemAdmin, Permission::ViewPupils));
        for p in [
            Permission::EditRegistry,
            Permission::ImportData,
            Permission::ManageUsers,
            Permission::ManageSecurity,
        ] {
            assert!(!role_has(Role::AuditAdmin, p));
        }
        assert!(
            Permission::ALL
                .iter()
                .all(|p| *p == Permission::ManageSecurity || !role_has(Role::SecurityAdmin, *p))
        );
    }

    #[test]
    fn scopes_contain_what_they_should() {
        let city = Scope::City {
            code: "230600".into(),
        };
        let district = Scope::District {
            code: "230602".into(),
        };
        let school = Scope::Institution {
            id: 7,
            code: "2230600007".into(),
            district: "230602".into(),
        };
        assert!(city.contains_institution(1, "230603"));
        assert!(district.contains_institution(1, "230602"));
        assert!(!district.contains_institution(1, "230603"));
        assert!(school.contains_institution(7, "230602"));
        assert!(!school.contains_institution(8, "230602"));
        assert_eq!(school.filter(), ScopeFilter::Institution(7));
    }
}

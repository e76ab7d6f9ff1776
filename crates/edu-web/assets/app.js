// EduPlan: small progressive enhancements only; every page works without this script.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  // Ask before destructive administrative actions.
  for (const form of document.querySelectorAll("form[data-confirm]")) {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  }
  // Close the mobile menu after choosing an entry.
  for (const link of document.querySelectorAll(".menu .nav a")) {
    link.addEventListener("click", () => link.closest("details")?.removeAttribute("open"));
  }
});

//! 选课走班: the eduplan-zouban/1 format, teaching-class formation, timetabling and checking. Pure.

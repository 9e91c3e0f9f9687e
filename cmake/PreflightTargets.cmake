# preflight_project_targets(OUT_VAR): every target defined in this project's directories, for the
# passes that apply to all of them once they exist (precompiled headers, sanitizer defaults).
function(preflight_project_targets out_var)
  set(directories ${PROJECT_SOURCE_DIR})
  set(targets "")
  while(directories)
    list(POP_FRONT directories directory)
    get_property(directory_targets DIRECTORY ${directory} PROPERTY BUILDSYSTEM_TARGETS)
    get_property(subdirectories DIRECTORY ${directory} PROPERTY SUBDIRECTORIES)
    list(APPEND targets ${directory_targets})
    list(APPEND directories ${subdirectories})
  endwhile()
  set(${out_var} ${targets} PARENT_SCOPE)
endfunction()

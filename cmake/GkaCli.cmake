# The parts of the build that belong to the command line (cli/), included at
# the end of the root CMakeLists.txt (after the gka program and the tests):
#  - gka.1, the manual page, printed by the program itself (`gka --man`) from
#    its option table (cli/option_table.c), so it lists exactly the options
#    the parser accepts; built by default and installed under man1;
#  - the option parser linked into the tests that call it directly
#    (tests/unit/test_options.c) and into the option fuzzer.
set(GKA_CLI_OPTION_SOURCES
  "${CMAKE_CURRENT_SOURCE_DIR}/cli/options.c"
  "${CMAKE_CURRENT_SOURCE_DIR}/cli/option_table.c"
  "${CMAKE_CURRENT_SOURCE_DIR}/cli/cli_util.c")

set(GKA_MAN_PAGE "${CMAKE_CURRENT_BINARY_DIR}/gka.1")
add_custom_command(OUTPUT "${GKA_MAN_PAGE}"
  COMMAND sh -c "\"$<TARGET_FILE:gka>\" --man > \"${GKA_MAN_PAGE}.tmp\" && mv \"${GKA_MAN_PAGE}.tmp\" \"${GKA_MAN_PAGE}\""
  DEPENDS gka
  COMMENT "Generating the manual page gka.1 from the option table"
  VERBATIM)
add_custom_target(man ALL DEPENDS "${GKA_MAN_PAGE}")
install(FILES "${GKA_MAN_PAGE}" DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)

foreach(target unit_test_options unit_test_fuzz_corpus fuzz_options)
  if(TARGET ${target})
    target_sources(${target} PRIVATE ${GKA_CLI_OPTION_SOURCES})
    target_include_directories(${target} PRIVATE "${CMAKE_CURRENT_SOURCE_DIR}/cli")
  endif()
endforeach()
if(TARGET unit_test_options)
  add_dependencies(unit_test_options man)
  target_compile_definitions(unit_test_options PRIVATE GKA_MAN_PAGE="${GKA_MAN_PAGE}")
endif()

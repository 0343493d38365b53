# Run at build time (cmake -P, from the gka_git_commit target): write the
# current commit of SOURCE_DIR into OUTPUT as GKA_GIT_COMMIT, "unknown" outside
# a git checkout. The file is rewritten only when the commit changes
# (configure_file leaves an identical file untouched), so a build after a new
# commit recompiles the few sources that print it and nothing else.
execute_process(COMMAND git rev-parse --short=12 HEAD
  WORKING_DIRECTORY "${SOURCE_DIR}"
  OUTPUT_VARIABLE commit OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET RESULT_VARIABLE rc)
if(NOT rc EQUAL 0 OR NOT commit)
  set(commit "unknown")
endif()
file(WRITE "${OUTPUT}.new"
  "/* Generated at build time by cmake/GkaGitCommit.cmake: the commit built. */\n"
  "#ifndef GKA_GIT_COMMIT_H\n#define GKA_GIT_COMMIT_H\n"
  "#define GKA_GIT_COMMIT \"${commit}\"\n#endif\n")
configure_file("${OUTPUT}.new" "${OUTPUT}" COPYONLY)
file(REMOVE "${OUTPUT}.new")

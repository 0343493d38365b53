# `doc` target: the API reference (Doxygen) in docs/api/html, from the
# public headers. Optional: without doxygen (apt-get install doxygen) the
# target only says how to get it and fails. Not part of the default build.
find_program(GKA_DOXYGEN doxygen)
if(GKA_DOXYGEN)
  add_custom_target(doc
    COMMAND "${CMAKE_COMMAND}" -E make_directory "${PROJECT_SOURCE_DIR}/docs/api"
    COMMAND "${CMAKE_COMMAND}" -E env "GKA_VERSION=${PROJECT_VERSION}" "${GKA_DOXYGEN}" Doxyfile
    COMMAND "${CMAKE_COMMAND}" -E echo "API reference: ${PROJECT_SOURCE_DIR}/docs/api/html/index.html"
    WORKING_DIRECTORY "${PROJECT_SOURCE_DIR}"
    COMMENT "Doxygen: docs/api"
    VERBATIM)
else()
  add_custom_target(doc
    COMMAND "${CMAKE_COMMAND}" -E echo "doc: doxygen not found; install it (apt-get install doxygen) and reconfigure"
    COMMAND "${CMAKE_COMMAND}" -E false
    VERBATIM)
endif()

if(GKA_BUILD_TESTS AND NOT GKA_MINIMAL)
  add_test(NAME doc_api COMMAND bash "${PROJECT_SOURCE_DIR}/cmake/doc_test.sh" "${PROJECT_SOURCE_DIR}")
  set_tests_properties(doc_api PROPERTIES LABELS unit TIMEOUT 300 SKIP_RETURN_CODE 77)
endif()

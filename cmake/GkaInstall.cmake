# Install rules: libgka (static and shared), the public headers, the gka
# program, a relocatable pkg-config file and a CMake package.
#
#   <prefix>/include/gka/        public headers (gka_*.h) and gka_config.h
#   <prefix>/<libdir>/libgka.a, libgka.so.*
#   <prefix>/<libdir>/pkgconfig/gka.pc            prefix = ${pcfiledir}/../..
#   <prefix>/<libdir>/cmake/gka/gkaConfig.cmake   find_package(gka CONFIG)
#   <prefix>/share/gka/plots/*.gp                 the figure scripts (gka figure)
#
# The CMake package exports gka::gka_static and gka::gka_shared and an alias
# target gka::gka: the shared library, or the static one when the consumer
# sets GKA_USE_STATIC_LIBS=ON before find_package(gka). The static library
# carries its dependencies as link-only items of gka::gka_deps, which
# gkaConfig.cmake finds again on the consumer's machine (the export holds no
# absolute paths of the build machine). Not installed: headers meant for the
# program or the tests only (gka_figure_internal.h, gka_gpu_check.h); the CUDA
# header gka_kernels.h is installed only together with libgka_cuda.a.
include(CMakePackageConfigHelpers)

set(GKA_INSTALL_CMAKEDIR "${CMAKE_INSTALL_LIBDIR}/cmake/gka" CACHE STRING
  "Where gkaConfig.cmake is installed, relative to the prefix")

# ---- headers --------------------------------------------------------------
file(GLOB GKA_PUBLIC_HEADERS CONFIGURE_DEPENDS
  "${PROJECT_SOURCE_DIR}/precision/gka_*.h" "${PROJECT_SOURCE_DIR}/solvers/gka_*.h"
  "${PROJECT_SOURCE_DIR}/experiments/io/gka_*.h" "${PROJECT_SOURCE_DIR}/experiments/data/gka_*.h"
  "${PROJECT_SOURCE_DIR}/experiments/driver/gka_*.h" "${PROJECT_SOURCE_DIR}/experiments/gka_*.h")
list(FILTER GKA_PUBLIC_HEADERS EXCLUDE REGEX "/gka_[a-z_]*internal\\.h$")
install(FILES ${GKA_PUBLIC_HEADERS} "${PROJECT_BINARY_DIR}/include/gka_config.h"
  DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}/gka")

# ---- libraries and program ------------------------------------------------
install(TARGETS gka_static gka_shared EXPORT gkaTargets
  ARCHIVE DESTINATION "${CMAKE_INSTALL_LIBDIR}"
  LIBRARY DESTINATION "${CMAKE_INSTALL_LIBDIR}"
  INCLUDES DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}/gka")
install(TARGETS gka RUNTIME DESTINATION "${CMAKE_INSTALL_BINDIR}")
# the figure scripts `gka figure` copies beside each CSV (experiments/gnuplot.c)
install(DIRECTORY "${PROJECT_SOURCE_DIR}/plots/" DESTINATION "${GKA_PLOTS_INSTALL_DIR}"
  FILES_MATCHING PATTERN "*.gp")
if(TARGET gka_cuda)
  install(TARGETS gka_cuda ARCHIVE DESTINATION "${CMAKE_INSTALL_LIBDIR}")
  install(FILES "${PROJECT_SOURCE_DIR}/kernels/gka_kernels.h"
    DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}/gka")
endif()

# ---- what a static link needs -----------------------------------------------
# Library names of the dependencies, in link order (GkaDependencies.cmake);
# those with a pkg-config module go to Requires.private, the others to
# Libs.private, followed by OpenMP's runtime, pthread and libm.
set(GKA_DEP_NAMES "")
if(NOT GKA_MINIMAL)
  set(GKA_DEP_NAMES flint-arb flint mpfr gmp gsl lapacke lapack openblas)
endif()
find_package(PkgConfig QUIET)
set(GKA_PC_REQUIRES_PRIVATE "")
set(GKA_PC_LIBS_PRIVATE "")
foreach(name IN LISTS GKA_DEP_NAMES)
  set(_found 0)
  if(PKG_CONFIG_FOUND)
    execute_process(COMMAND "${PKG_CONFIG_EXECUTABLE}" --exists ${name} RESULT_VARIABLE _rc)
    if(_rc EQUAL 0)
      set(_found 1)
    endif()
  endif()
  if(_found)
    string(APPEND GKA_PC_REQUIRES_PRIVATE " ${name}")
  else()
    string(APPEND GKA_PC_LIBS_PRIVATE " -l${name}")
  endif()
endforeach()
set(GKA_HAVE_OPENMP 0)
if(OpenMP_C_FOUND)
  set(GKA_HAVE_OPENMP 1)
  foreach(lib IN LISTS OpenMP_C_LIB_NAMES)
    if(NOT lib STREQUAL "pthread")
      string(APPEND GKA_PC_LIBS_PRIVATE " -l${lib}")
    endif()
  endforeach()
endif()
string(APPEND GKA_PC_LIBS_PRIVATE " -lpthread -lm")
string(STRIP "${GKA_PC_REQUIRES_PRIVATE}" GKA_PC_REQUIRES_PRIVATE)
string(STRIP "${GKA_PC_LIBS_PRIVATE}" GKA_PC_LIBS_PRIVATE)

# ---- pkg-config ------------------------------------------------------------
# prefix relative to the .pc file's own directory, so that the installed tree
# can be moved (pkg-config defines ${pcfiledir}).
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}")
  set(GKA_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
else()
  file(RELATIVE_PATH _rel "/gka_root/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/gka_root")
  set(GKA_PC_PREFIX "\${pcfiledir}/${_rel}")
endif()
configure_file("${PROJECT_SOURCE_DIR}/cmake/gka.pc.in" "${PROJECT_BINARY_DIR}/gka.pc" @ONLY)
install(FILES "${PROJECT_BINARY_DIR}/gka.pc" DESTINATION "${CMAKE_INSTALL_LIBDIR}/pkgconfig")

# ---- CMake package -----------------------------------------------------------
install(EXPORT gkaTargets NAMESPACE gka:: DESTINATION "${GKA_INSTALL_CMAKEDIR}")
configure_package_config_file("${PROJECT_SOURCE_DIR}/cmake/gkaConfig.cmake.in"
  "${PROJECT_BINARY_DIR}/gkaConfig.cmake" INSTALL_DESTINATION "${GKA_INSTALL_CMAKEDIR}")
write_basic_package_version_file("${PROJECT_BINARY_DIR}/gkaConfigVersion.cmake"
  VERSION "${PROJECT_VERSION}" COMPATIBILITY SameMinorVersion)
install(FILES "${PROJECT_BINARY_DIR}/gkaConfig.cmake" "${PROJECT_BINARY_DIR}/gkaConfigVersion.cmake"
  DESTINATION "${GKA_INSTALL_CMAKEDIR}")

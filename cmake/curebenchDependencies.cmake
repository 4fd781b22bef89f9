# Every dependency of the headers, found the same way by this project and by the installed package config.
# All of them come from Debian packages (cmake/bootstrap.sh installs what is missing).
include(CMakeFindDependencyMacro)
# Inside an installed package config, find_dependency reports failure to the consumer's find_package;
# in this project's own build every dependency is REQUIRED.
macro(curebench_dependency)
  if(CMAKE_FIND_PACKAGE_NAME)
    find_dependency(${ARGV})
  else()
    find_package(${ARGV} REQUIRED)
  endif()
endmacro()
curebench_dependency(Threads)
curebench_dependency(nlohmann_json 3.10)
curebench_dependency(Eigen3 3.3 NO_MODULE)
curebench_dependency(range-v3)

# Dashboards (gnuplot-iostream) need Boost's compiled iostreams/filesystem libraries. A build may turn
# them off (-DCUREBENCH_WITH_REPORTS=OFF, e.g. on a GPU box without those libraries); then the report
# headers and the `report` subcommand are left out and everything else works.
if(NOT DEFINED CUREBENCH_WITH_REPORTS)
  set(CUREBENCH_WITH_REPORTS ON)
endif()
if(CUREBENCH_WITH_REPORTS)
  curebench_dependency(Boost COMPONENTS iostreams filesystem system)
endif()
curebench_dependency(PkgConfig)
pkg_check_modules(CUREBENCH_PCRE2 REQUIRED IMPORTED_TARGET GLOBAL libpcre2-8)
# libzip through pkg-config: Debian 12's libzip CMake config requires the separate zipcmp/zipmerge/ziptool tools.
pkg_check_modules(CUREBENCH_LIBZIP REQUIRED IMPORTED_TARGET GLOBAL libzip)
curebench_dependency(Torch)

set(CUREBENCH_BASE_DEPENDENCIES
  Threads::Threads nlohmann_json::nlohmann_json Eigen3::Eigen range-v3::range-v3 PkgConfig::CUREBENCH_LIBZIP
  PkgConfig::CUREBENCH_PCRE2)
if(CUREBENCH_WITH_REPORTS)
  list(APPEND CUREBENCH_BASE_DEPENDENCIES Boost::iostreams Boost::filesystem Boost::system)
endif()

# A libtorch built with CUDA exposes its CUDA libraries; then the CUDA code paths and tests are compiled.
if(TORCH_CUDA_LIBRARIES)
  set(CUREBENCH_WITH_CUDA ON)
else()
  set(CUREBENCH_WITH_CUDA OFF)
endif()

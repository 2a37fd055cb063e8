# Finds oneDNN for its CPU engine only (bench_kernels' bar) and defines OneDnnCpu::dnnl.
#
# Debian's dnnl-config.cmake is built with the OpenCL GPU runtime, so find_package(dnnl)
# requires OpenCL's headers and libOpenCL.so (ocl-icd-opencl-dev, which libdnnl-dev merely
# Recommends): a fresh machine fails at configure. The CPU API (dnnl.hpp) needs neither;
# libdnnl.so's own runtime dependencies come with libdnnl2.
include(FindPackageHandleStandardArgs)
find_path(OneDnnCpu_INCLUDE_DIR NAMES oneapi/dnnl/dnnl.hpp)
find_library(OneDnnCpu_LIBRARY NAMES dnnl)
find_package_handle_standard_args(OneDnnCpu REQUIRED_VARS OneDnnCpu_LIBRARY OneDnnCpu_INCLUDE_DIR)
mark_as_advanced(OneDnnCpu_INCLUDE_DIR OneDnnCpu_LIBRARY)
if(OneDnnCpu_FOUND AND NOT TARGET OneDnnCpu::dnnl)
  add_library(OneDnnCpu::dnnl UNKNOWN IMPORTED)
  set_target_properties(OneDnnCpu::dnnl PROPERTIES
    IMPORTED_LOCATION "${OneDnnCpu_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${OneDnnCpu_INCLUDE_DIR}")
endif()

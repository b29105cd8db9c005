# cJSON for the Windows cross build, from Debian's own source package: `apt-get source cjson` runs
# at build time into ${CMAKE_BINARY_DIR}/_deps (cmake/fetch_cjson_source.cmake) and the library is
# compiled there with the rest. Nothing of it is committed. Defines PkgConfig::CJSON, the name the
# Linux build gets from pkg-config, so config/ links the same way on both.
set(GSKEL_CJSON_DIR ${CMAKE_BINARY_DIR}/_deps/cjson)
# Made now, filled at build time: CMake wants the include directory of an imported target to exist.
file(MAKE_DIRECTORY ${GSKEL_CJSON_DIR}/include/cjson)
add_custom_command(
  OUTPUT ${GSKEL_CJSON_DIR}/cJSON.c ${GSKEL_CJSON_DIR}/include/cjson/cJSON.h
  COMMAND ${CMAKE_COMMAND} -DDEST=${GSKEL_CJSON_DIR}
          -DENABLE_DEB_SRC=${CMAKE_CURRENT_LIST_DIR}/enable_deb_src.cmake
          -P ${CMAKE_CURRENT_LIST_DIR}/fetch_cjson_source.cmake
  DEPENDS ${CMAKE_CURRENT_LIST_DIR}/fetch_cjson_source.cmake
  COMMENT "Fetching cJSON from Debian's source package (apt-get source cjson)"
  VERBATIM)
add_library(gskel_cjson STATIC ${GSKEL_CJSON_DIR}/cJSON.c ${GSKEL_CJSON_DIR}/include/cjson/cJSON.h)
target_include_directories(gskel_cjson SYSTEM PUBLIC ${GSKEL_CJSON_DIR}/include)
target_include_directories(gskel_cjson PRIVATE ${GSKEL_CJSON_DIR}/include/cjson) # its own "cJSON.h"
# Static: neither dllexport nor dllimport on its functions.
target_compile_definitions(gskel_cjson PUBLIC CJSON_HIDE_SYMBOLS)
# Upstream code is compiled as shipped, not held to our warning flags.
target_compile_options(gskel_cjson PRIVATE -w)
add_library(PkgConfig::CJSON INTERFACE IMPORTED)
target_link_libraries(PkgConfig::CJSON INTERFACE gskel_cjson)

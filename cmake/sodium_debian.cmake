# libsodium for the Windows cross build, from Debian's own source package, built at build time
# into ${CMAKE_BINARY_DIR}/_deps/sodium (cmake/build_sodium_source.cmake). Nothing of it is
# committed. Defines PkgConfig::SODIUM, the name the Linux build gets from pkg-config.
set(GSKEL_SODIUM_DIR ${CMAKE_BINARY_DIR}/_deps/sodium)
file(MAKE_DIRECTORY ${GSKEL_SODIUM_DIR}/include)
add_custom_command(
  OUTPUT ${GSKEL_SODIUM_DIR}/lib/libsodium.a ${GSKEL_SODIUM_DIR}/include/sodium.h
  COMMAND ${CMAKE_COMMAND} -DDEST=${GSKEL_SODIUM_DIR} -DHOST=${GSKEL_MINGW_TRIPLE} -DCC=${CMAKE_C_COMPILER}
          -DENABLE_DEB_SRC=${CMAKE_CURRENT_LIST_DIR}/enable_deb_src.cmake
          -P ${CMAKE_CURRENT_LIST_DIR}/build_sodium_source.cmake
  DEPENDS ${CMAKE_CURRENT_LIST_DIR}/build_sodium_source.cmake ${CMAKE_CURRENT_LIST_DIR}/fetch_deb_source.cmake
  COMMENT "Building libsodium from Debian's source package (apt-get source libsodium)"
  VERBATIM)
add_custom_target(gskel_sodium_build DEPENDS ${GSKEL_SODIUM_DIR}/lib/libsodium.a)
add_library(PkgConfig::SODIUM STATIC IMPORTED GLOBAL)
set_target_properties(PkgConfig::SODIUM PROPERTIES IMPORTED_LOCATION ${GSKEL_SODIUM_DIR}/lib/libsodium.a
                      INTERFACE_INCLUDE_DIRECTORIES ${GSKEL_SODIUM_DIR}/include
                      INTERFACE_COMPILE_DEFINITIONS SODIUM_STATIC
                      INTERFACE_LINK_LIBRARIES advapi32) # RtlGenRandom
add_dependencies(PkgConfig::SODIUM gskel_sodium_build)

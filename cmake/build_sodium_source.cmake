# cmake -DDEST=DIR -DENABLE_DEB_SRC=FILE -DHOST=TRIPLET -DCC=COMPILER -P build_sodium_source.cmake
# libsodium for the Windows cross build: Debian's source package (fetch_deb_source.cmake), built
# with its own autotools for HOST as a static library (the minimal build: what gskel uses, Ed25519
# and the random generator, is in it) and installed into DIR (DIR/lib/libsodium.a,
# DIR/include/sodium.h). Needs autoconf, automake and libtool (`make deps`).
if(NOT DEST OR NOT ENABLE_DEB_SRC OR NOT HOST OR NOT CC)
  message(FATAL_ERROR "usage: cmake -DDEST=DIR -DENABLE_DEB_SRC=FILE -DHOST=TRIPLET -P build_sodium_source.cmake")
endif()
set(PACKAGE libsodium)
include(${CMAKE_CURRENT_LIST_DIR}/fetch_deb_source.cmake)
set(src ${DEST}/src)
cmake_host_system_information(RESULT jobs QUERY NUMBER_OF_LOGICAL_CORES)
foreach(step "./autogen.sh -s"
             "CC=${CC} ./configure --host=${HOST} --disable-shared --enable-static --enable-minimal --prefix=${DEST}"
             "make -j${jobs}" "make install")
  execute_process(COMMAND sh -c "${step}" WORKING_DIRECTORY ${src} RESULT_VARIABLE rc OUTPUT_FILE ${DEST}/build.log
                  ERROR_FILE ${DEST}/build.log)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "libsodium for ${HOST}: `${step}` failed (${rc}); see ${DEST}/build.log")
  endif()
endforeach()
file(REMOVE_RECURSE ${src})

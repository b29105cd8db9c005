# cmake -DDEST=DIR -DENABLE_DEB_SRC=FILE -P fetch_cjson_source.cmake
# Debian's cJSON source package (fetch_deb_source.cmake), laid out as DIR/cJSON.c,
# DIR/include/cjson/cJSON.h and DIR/LICENSE.
if(NOT DEST OR NOT ENABLE_DEB_SRC)
  message(FATAL_ERROR "usage: cmake -DDEST=DIR -DENABLE_DEB_SRC=FILE -P fetch_cjson_source.cmake")
endif()
set(PACKAGE cjson)
include(${CMAKE_CURRENT_LIST_DIR}/fetch_deb_source.cmake)
set(src ${DEST}/src)
if(NOT EXISTS ${src}/cJSON.c OR NOT EXISTS ${src}/cJSON.h)
  message(FATAL_ERROR "apt-get source cjson: no cJSON.c / cJSON.h in ${src}")
endif()
file(MAKE_DIRECTORY ${DEST}/include/cjson)
file(COPY_FILE ${src}/cJSON.c ${DEST}/cJSON.c)
file(COPY_FILE ${src}/cJSON.h ${DEST}/include/cjson/cJSON.h)
if(EXISTS ${src}/LICENSE)
  file(COPY_FILE ${src}/LICENSE ${DEST}/LICENSE)
endif()

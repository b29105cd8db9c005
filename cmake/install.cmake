# What `cmake --install build --prefix P` puts on a machine (gskel-server's own rule is in
# server/CMakeLists.txt):
#   P/bin/gskel-bench                      the load client, when this build has it
#   P/bin/gskel-ticket                     ticket keys and signed tickets (docs/security.md)
#   P/share/gskel/server.json              the default config, to copy to /etc/gskel/ and edit
#   P/lib/systemd/system/gskel.service     dist/gskel.service with ExecStart under P/bin
# And a CTest test, install.cmake_install_layout, that installs into the build tree and checks it.

if(TARGET gskel-bench)
  install(TARGETS gskel-bench RUNTIME DESTINATION bin)
endif()
if(TARGET gskel-ticket)
  install(TARGETS gskel-ticket RUNTIME DESTINATION bin)
endif()

install(FILES ${PROJECT_SOURCE_DIR}/config/server.json DESTINATION share/gskel)

if(NOT WIN32)
  set(GSKEL_SYSTEMD_UNIT_DIR lib/systemd/system CACHE STRING
      "Where gskel.service goes: relative to the install prefix, or absolute")
  # The unit names the binary by absolute path, and the prefix is only known at install time
  # (`--prefix` overrides the configured one), so the path is rewritten then. DESTDIR stages the
  # files without changing the path they will have on the target.
  install(CODE "
    set(unit_dir [[${GSKEL_SYSTEMD_UNIT_DIR}]])
    if(NOT IS_ABSOLUTE \"\${unit_dir}\")
      set(unit_dir \"\${CMAKE_INSTALL_PREFIX}/\${unit_dir}\")
    endif()
    set(unit_file \"\$ENV{DESTDIR}\${unit_dir}/gskel.service\")
    file(READ [[${PROJECT_SOURCE_DIR}/dist/gskel.service]] unit)
    string(REPLACE /usr/local/bin/ \"\${CMAKE_INSTALL_PREFIX}/bin/\" unit \"\${unit}\")
    message(STATUS \"Installing: \${unit_file}\")
    file(WRITE \"\${unit_file}\" \"\${unit}\")
    list(APPEND CMAKE_INSTALL_MANIFEST_FILES \"\${unit_file}\")
  ")
endif()

if(BUILD_TESTING AND NOT CMAKE_CROSSCOMPILING AND NOT WIN32)
  set(GSKEL_INSTALL_TEST_PREFIX ${CMAKE_BINARY_DIR}/install-test)
  set(GSKEL_INSTALL_TEST_HAS_BENCH OFF)
  if(TARGET gskel-bench)
    set(GSKEL_INSTALL_TEST_HAS_BENCH ON)
  endif()
  add_test(NAME install.cmake_install_layout
           COMMAND ${CMAKE_COMMAND}
                   -DBUILD_DIR=${CMAKE_BINARY_DIR}
                   -DPREFIX=${GSKEL_INSTALL_TEST_PREFIX}
                   -DCONFIG=$<CONFIG>
                   -DSOURCE_DIR=${PROJECT_SOURCE_DIR}
                   -DUNIT_DIR=${GSKEL_SYSTEMD_UNIT_DIR}
                   -DHAS_BENCH=${GSKEL_INSTALL_TEST_HAS_BENCH}
                   -P ${PROJECT_SOURCE_DIR}/cmake/check_install.cmake)
  set_tests_properties(install.cmake_install_layout PROPERTIES LABELS install TIMEOUT 120)
endif()

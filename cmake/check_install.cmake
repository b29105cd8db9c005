# The install.cmake_install_layout test (cmake -P): installs BUILD_DIR into the scratch prefix
# PREFIX, as any user can, and checks that what cmake/install.cmake promises is there and works:
# the installed server accepts the installed config, and the unit starts the installed server.
# Inputs: BUILD_DIR, PREFIX, CONFIG, SOURCE_DIR, UNIT_DIR, HAS_BENCH.
cmake_minimum_required(VERSION 3.25)

function(fail msg)
  message(FATAL_ERROR "install layout: ${msg}")
endfunction()

file(REMOVE_RECURSE ${PREFIX})
set(install_cmd ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${PREFIX})
if(CONFIG)
  list(APPEND install_cmd --config ${CONFIG})
endif()
# An absolute unit dir (e.g. /lib/systemd/system) is staged under DESTDIR so no root is needed.
set(stage "")
if(IS_ABSOLUTE "${UNIT_DIR}")
  set(stage ${PREFIX}/destdir)
  set(install_cmd ${CMAKE_COMMAND} -E env DESTDIR=${stage} ${install_cmd})
endif()
execute_process(COMMAND ${install_cmd} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  fail("`${install_cmd}` exited ${rc}:\n${out}${err}")
endif()

set(root ${stage}${PREFIX})
set(expected bin/gskel-server bin/gskel-ticket share/gskel/server.json)
if(HAS_BENCH)
  list(APPEND expected bin/gskel-bench)
endif()
foreach(f ${expected})
  if(NOT EXISTS ${root}/${f})
    fail("${root}/${f} was not installed")
  endif()
endforeach()

file(SHA256 ${SOURCE_DIR}/config/server.json want)
file(SHA256 ${root}/share/gskel/server.json got)
if(NOT want STREQUAL got)
  fail("share/gskel/server.json differs from config/server.json")
endif()

# The shipped config takes signed tickets: the keys come from the installed gskel-ticket, in
# keys/ under the working directory, as the unit's /etc/gskel would hold them.
set(etc ${PREFIX}/etc-gskel)
file(MAKE_DIRECTORY ${etc}/keys)
execute_process(COMMAND ${root}/bin/gskel-ticket --new-key 1 --key ${PREFIX}/issuer.key --public ${etc}/keys/tickets.pub
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  fail("installed gskel-ticket --new-key exited ${rc}: ${out}${err}")
endif()
execute_process(COMMAND ${root}/bin/gskel-server --check-config --config ${root}/share/gskel/server.json
                WORKING_DIRECTORY ${etc} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  fail("installed gskel-server rejects the installed config (exit ${rc}): ${out}${err}")
endif()

if(IS_ABSOLUTE "${UNIT_DIR}")
  set(unit ${stage}${UNIT_DIR}/gskel.service)
else()
  set(unit ${root}/${UNIT_DIR}/gskel.service)
endif()
if(NOT EXISTS ${unit})
  fail("${unit} was not installed")
endif()
file(STRINGS ${unit} exec_start REGEX "^ExecStart=")
if(NOT exec_start STREQUAL "ExecStart=${PREFIX}/bin/gskel-server --config /etc/gskel/server.json")
  fail("the unit does not start the installed server: ${exec_start}")
endif()
file(STRINGS ${BUILD_DIR}/install_manifest.txt manifest)
if(NOT unit IN_LIST manifest)
  fail("install_manifest.txt does not list ${unit}, so uninstall scripts would leave it behind")
endif()
message(STATUS "install layout ok under ${root}")

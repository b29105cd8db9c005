# Turns the file IN into a C source OUT defining `const char cfg_default_json[]` (NUL-terminated)
# and `cfg_default_json_len`, so the binary carries config/server.json byte for byte.
file(READ "${IN}" hex HEX)
string(LENGTH "${hex}" hexlen)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
math(EXPR len "${hexlen} / 2")
get_filename_component(dir "${OUT}" DIRECTORY)
file(MAKE_DIRECTORY "${dir}")
file(WRITE "${OUT}.tmp"
  "/* Generated from ${IN} by cmake/embed_file.cmake: do not edit. */\n"
  "#include <stddef.h>\n"
  "const char cfg_default_json[] = {${bytes}0x00};\n"
  "const size_t cfg_default_json_len = ${len};\n")
file(RENAME "${OUT}.tmp" "${OUT}")

# Cross-build for 64-bit Windows with Debian's mingw-w64 (gcc-mingw-w64-x86-64):
#   cmake -S . -B build-win -DCMAKE_TOOLCHAIN_FILE=cmake/mingw-w64.cmake   (or: make windows)
# The result runs on Windows 10+ and under Wine; tests drive it from Linux (tests/wine/).
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)

set(GSKEL_MINGW_TRIPLE x86_64-w64-mingw32)
# The -posix variant would need libwinpthread at run time for nothing: the code uses Win32 threads.
find_program(CMAKE_C_COMPILER NAMES ${GSKEL_MINGW_TRIPLE}-gcc-win32 ${GSKEL_MINGW_TRIPLE}-gcc REQUIRED)
find_program(CMAKE_RC_COMPILER NAMES ${GSKEL_MINGW_TRIPLE}-windres)

set(CMAKE_FIND_ROOT_PATH /usr/${GSKEL_MINGW_TRIPLE})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER) # build tools (python3, wine) come from the host
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# One self-contained .exe: libgcc and any mingw runtime piece linked in, no DLLs to ship or to
# put on Wine's PATH.
set(CMAKE_EXE_LINKER_FLAGS_INIT "-static")

# jemalloc is Linux-only; alloc.h falls back to the C runtime's allocator.
set(GSKEL_JEMALLOC OFF CACHE BOOL "Allocate through jemalloc" FORCE)

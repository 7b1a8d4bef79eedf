# Fails when a source includes a header of a folder it must not depend on: the layering of
# README's Layout section. Run by the build (every library depends on it) and by ctest:
#   cmake -DROOT=<repository> -P scripts/check_layering.cmake
#
# Each rule: a folder, then the folders its files may include from (its own is implied). The
# first rule whose folder starts a file's path applies. core's stages come in the order of a
# run: each may include only the stages before it.
set(rules
  "profiler/"
  "core/base/"
  "core/model/|core/base/"
  "core/inputs/|core/base/ core/model/"
  "core/moe/|core/base/ core/model/ core/inputs/"
  "core/exec/|core/base/ core/model/ core/inputs/ core/moe/ profiler/"
  "core/ranks/|core/base/ core/model/ core/inputs/ core/moe/ core/exec/ profiler/"
  "core/run/|core/base/ core/model/ core/inputs/ core/moe/ core/exec/ profiler/"
  "core/session/|core/base/ core/model/ core/inputs/ core/moe/ core/exec/ core/run/ profiler/"
  "kernels/|core/ profiler/"
  "app/viewdata/|core/ profiler/"
  "app/charts/|app/viewdata/ core/ profiler/"
  "app/cli/|app/charts/ app/viewdata/ core/ profiler/ kernels/"
  "app/gui/|app/charts/ app/viewdata/ core/ profiler/ kernels/"
  "tests/|app/ core/ profiler/ kernels/")

if(NOT ROOT)
  message(FATAL_ERROR "usage: cmake -DROOT=<repository> -P check_layering.cmake")
endif()
file(GLOB_RECURSE sources RELATIVE "${ROOT}"
  "${ROOT}/profiler/*" "${ROOT}/core/*" "${ROOT}/kernels/*" "${ROOT}/app/*" "${ROOT}/tests/*")
list(FILTER sources INCLUDE REGEX "\\.(h|cpp|cu|cuh)$")

set(problems "")
foreach(source IN LISTS sources)
  set(own "")
  set(allowed "")
  foreach(rule IN LISTS rules)
    string(REPLACE "|" ";" parts "${rule}")
    list(GET parts 0 folder)
    string(FIND "${source}" "${folder}" at)
    if(at EQUAL 0)
      set(own "${folder}")
      list(LENGTH parts n)
      if(n GREATER 1)
        list(GET parts 1 others)
        string(REPLACE " " ";" allowed "${others}")
      endif()
      break()
    endif()
  endforeach()
  if(own STREQUAL "")
    continue()
  endif()
  file(STRINGS "${ROOT}/${source}" includes REGEX "^[ \t]*#[ \t]*include[ \t]*[\"<]")
  foreach(line IN LISTS includes)
    if(line MATCHES "#[ \t]*include[ \t]*\"([^\"]+)\"")
      set(target "${CMAKE_MATCH_1}")
      # Only the project's own folders are layered; a relative include stays in its folder.
      if(NOT target MATCHES "^(profiler|core|kernels|app|tests)/")
        continue()
      endif()
      set(ok FALSE)
      foreach(prefix IN ITEMS "${own}" ${allowed})
        string(FIND "${target}" "${prefix}" at)
        if(at EQUAL 0)
          set(ok TRUE)
        endif()
      endforeach()
      if(NOT ok)
        string(APPEND problems "  ${source} includes ${target}\n")
      endif()
    elseif(line MATCHES "#[ \t]*include[ \t]*<((Q|cuda|cublas|cupti|nvtx|thrust|cub/)[^>]*)>")
      # core's headers are read by the GUI and the CUDA code alike: neither Qt nor CUDA there.
      if(source MATCHES "^core/.*\\.h$")
        string(APPEND problems "  ${source} includes <${CMAKE_MATCH_1}> (core headers stay free of Qt and CUDA)\n")
      endif()
    endif()
  endforeach()
endforeach()

if(NOT problems STREQUAL "")
  message(FATAL_ERROR "Includes that break the layering (README.md, Layout):\n${problems}")
endif()
list(LENGTH sources count)
message(STATUS "layering: ${count} files checked")

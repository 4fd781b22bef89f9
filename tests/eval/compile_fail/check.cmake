# Runs one compile-fail case: the compiler must fail AND its diagnostic must name the concept (so a broken include
# path or a typo cannot pass for a refused policy).
#   cmake -DCXX=... -DSRC=... -DCONCEPT=... -DINCLUDES="a|b" -P check.cmake
string(REPLACE "|" ";" includes "${INCLUDES}")
set(flags)
foreach(dir IN LISTS includes)
  list(APPEND flags "-I${dir}")
endforeach()
execute_process(COMMAND ${CXX} -std=c++20 -fsyntax-only ${flags} ${SRC} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(rc EQUAL 0)
  message(FATAL_ERROR "${SRC} compiled, but it must be refused: its policy does not model ${CONCEPT}")
endif()
# gcc: "required for the satisfaction of 'Concept<T>'"; clang: "because 'T' does not satisfy 'Concept'".
if(NOT "${out}${err}" MATCHES "(${CONCEPT}<|satisfy '${CONCEPT}')")
  message(FATAL_ERROR "${SRC} failed to compile, but the diagnostic does not name ${CONCEPT}:\n${out}${err}")
endif()
message(STATUS "refused, naming ${CONCEPT}")

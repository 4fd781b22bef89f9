# Installs the build tree into a scratch prefix, then configures, builds and runs examples/embed against it
# with find_package(curebench CONFIG REQUIRED) — the package exactly as an embedding project sees it.
file(REMOVE_RECURSE ${WORK_DIR})
# The build's CMAKE_PREFIX_PATH (e.g. where libtorch is), handed over through the environment because a
# list argument would be split by execute_process.
string(REPLACE "|" ":" prefixes "${PREFIXES}")
set(ENV{CMAKE_PREFIX_PATH} "${WORK_DIR}/prefix:${prefixes}")
function(run)
  execute_process(COMMAND ${ARGV} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGV}")
  endif()
endfunction()
run(${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${WORK_DIR}/prefix)
run(${CMAKE_COMMAND} -S ${SOURCE_DIR}/examples/embed -B ${WORK_DIR}/build -DCMAKE_BUILD_TYPE=Release
    -DCMAKE_FIND_PACKAGE_PREFER_CONFIG=ON)
run(${CMAKE_COMMAND} --build ${WORK_DIR}/build)
run(${WORK_DIR}/build/embed_example ${SOURCE_DIR}/tests/data/models/stories260K/hf/model.safetensors)

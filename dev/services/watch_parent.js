// Preloaded (node --require) into every service process started for `make run` and the tests.
// When the process that started the service dies, even by SIGKILL, the service is re-parented;
// it then shuts down through its own SIGTERM handler, so no emulator outlives its owner.
"use strict";

if (process.env.DEV_SERVICES_WATCH_PARENT === "1") {
  const owner = process.ppid;
  setInterval(() => {
    if (process.ppid !== owner) {
      process.kill(process.pid, "SIGTERM");
    }
  }, 500).unref();
}

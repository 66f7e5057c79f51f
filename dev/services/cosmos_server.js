#!/usr/bin/env node
// Runs @vercel/cosmosdb-server (an in-memory Cosmos DB emulator) with its data kept in a file:
// restored at start, written atomically a moment after each change and at shutdown.
//
//   node cosmos_server.js --port PORT [--host 127.0.0.1] [--state FILE]
//
// The package keeps everything in memory and does not expose its store, so this launcher
// captures the account object the server creates and walks its collections. It relies on the
// internals of the pinned version 1.0.1; tests/integration/test_services_lifecycle.py checks data
// survives a restart.
"use strict";

const fs = require("fs");
const path = require("path");

const accountModule = require("@vercel/cosmosdb-server/lib/account");
const itemsModule = require("@vercel/cosmosdb-server/lib/account/items");
const { createHttpsServer } = require("@vercel/cosmosdb-server");

const FLUSH_DELAY_MS = 1000;
const SNAPSHOT_VERSION = 1;

function parseArgs(argv) {
  const args = { host: "127.0.0.1", port: 0, state: null };
  for (let i = 0; i < argv.length; i += 1) {
    const key = argv[i];
    const value = argv[i + 1];
    if (key === "--port" || key === "-p") args.port = parseInt(value, 10);
    else if (key === "--host") args.host = value;
    else if (key === "--state") args.state = value;
    else throw new Error(`unknown argument ${key}`);
    i += 1;
  }
  return args;
}

// The server builds its account when it starts listening; keep a handle on it.
let account = null;
const BaseAccount = accountModule.default;
accountModule.default = class CapturedAccount extends BaseAccount {
  constructor(...args) {
    super(...args);
    account = this;
  }
};

// Every change to the store goes through Items._set or Items.delete.
let dirty = false;
const Items = itemsModule.default;
for (const method of ["_set", "delete"]) {
  const original = Items.prototype[method];
  Items.prototype[method] = function changed(...args) {
    dirty = true;
    scheduleFlush();
    return original.apply(this, args);
  };
}

function dumpItems(items, children) {
  return {
    ridCount: items._ridCount,
    items: [...items._data.values()].map(item => ({ data: item.read(), ...children(item) }))
  };
}

function snapshot() {
  return {
    version: SNAPSHOT_VERSION,
    databases: dumpItems(account.databases, database => ({
      collections: dumpItems(database.collections, collection => ({
        documents: dumpItems(collection.documents, () => ({})),
        functions: [...collection.userDefinedFunctions._data.values()].map(f => f.read())
      }))
    }))
  };
}

function restore(state) {
  if (state.version !== SNAPSHOT_VERSION) {
    throw new Error(`unknown snapshot version ${state.version}`);
  }
  // _set keeps each resource's _rid, _etag and _ts; the counters keep new rids unique.
  account.databases._ridCount = state.databases.ridCount;
  for (const db of state.databases.items) {
    account.databases._set(db.data);
    const database = account.database(db.data.id);
    database.collections._ridCount = db.collections.ridCount;
    for (const coll of db.collections.items) {
      database.collections._set(coll.data);
      const collection = database.collection(coll.data.id);
      collection.documents._ridCount = coll.documents.ridCount;
      for (const doc of coll.documents.items) collection.documents._set(doc.data);
      for (const udf of coll.functions) collection.userDefinedFunctions.create(udf);
    }
  }
}

let statePath = null;
let flushTimer = null;

function scheduleFlush() {
  if (statePath && account && !flushTimer) {
    flushTimer = setTimeout(flush, FLUSH_DELAY_MS);
  }
}

function flush() {
  flushTimer = null;
  if (!statePath || !account || !dirty) return;
  dirty = false;
  const temporary = `${statePath}.${process.pid}.tmp`;
  const fd = fs.openSync(temporary, "w");
  try {
    fs.writeSync(fd, JSON.stringify(snapshot()));
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(temporary, statePath);
}

function main() {
  const args = parseArgs(process.argv.slice(2));
  statePath = args.state ? path.resolve(args.state) : null;
  // keepAlive: without it every answer says `Connection: close`, and each request pays a
  // fresh TLS handshake, which dominates the emulator's CPU under load.
  const server = createHttpsServer({ keepAlive: true });
  server.listen(args.port, args.host, () => {
    if (statePath && fs.existsSync(statePath)) {
      restore(JSON.parse(fs.readFileSync(statePath, "utf8")));
      dirty = false;
      if (flushTimer) {
        clearTimeout(flushTimer);
        flushTimer = null;
      }
      console.log(`Restored the data of ${statePath}`);
    }
    console.log(`Ready to accept HTTPS connections at ${args.host}:${server.address().port}`);
  });
  const shutdown = signal => {
    if (flushTimer) clearTimeout(flushTimer);
    try {
      flush();
    } finally {
      console.log(`Stopped by ${signal}`);
      process.exit(0);
    }
  };
  for (const signal of ["SIGTERM", "SIGINT", "SIGHUP"]) process.once(signal, () => shutdown(signal));
}

main();

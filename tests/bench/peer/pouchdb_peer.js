#!/usr/bin/env node
// The PouchDB side of bench_peer (issue 6): the same measurement as tandem's, on PouchDB.
//
//   node pouchdb_peer.js [--records N] [--edits K]
//
// Store A is a PouchDB served over HTTP by express-pouchdb (memory adapter) on 127.0.0.1, port
// 0; store B is a local in-memory PouchDB in this process. Both memory stores live in this one
// process, so the only transport cost is loopback HTTP, as in tandem's bench.
//
//  1. Initial sync: N customers are written to A (bulk, not timed); then one one-shot
//     bidirectional `PouchDB.sync(A, B)` (PouchDB's default batch_size 100, batches_limit 10).
//     The clock runs from the call until B holds all N documents; docs/s = N / that time.
//     One-shot, not live: a live sync would measure the same transfers plus idle waits.
//  2. Concurrent edits: for K of them, `city` is changed in A and `phone` in B before another
//     one-shot sync. Then, on each side, a document "kept both" when its winning revision has
//     the new city AND the new phone; PouchDB keeps one revision and hides the other in
//     `_conflicts`, which is also counted.
//
// Prints one JSON line on stdout; diagnostics go to stderr; exit 1 on any failure.

'use strict';

const http = require('http');
const express = require('express');
const expressPouchdb = require('express-pouchdb');
const PouchDB = require('pouchdb-core')
  .plugin(require('pouchdb-adapter-memory'))
  .plugin(require('pouchdb-adapter-http'))
  .plugin(require('pouchdb-replication'));

function parseArgs(argv) {
  const out = { records: 10000, edits: 1000 };
  for (let i = 2; i < argv.length; i += 2) {
    const value = Number(argv[i + 1]);
    if (!Number.isInteger(value) || value < 0) {
      throw new Error(`pouchdb_peer: ${argv[i]} needs a non-negative integer, got "${argv[i + 1]}"`);
    }
    if (argv[i] === '--records') {
      out.records = value;
    } else if (argv[i] === '--edits') {
      out.edits = value;
    } else {
      throw new Error(`pouchdb_peer: unknown option "${argv[i]}" (--records N, --edits K)`);
    }
  }
  out.edits = Math.min(out.edits, out.records);
  return out;
}

// The customer the fixtures seed (fixtures/seed_data.cc makePerson) in the canonical field names
// of tandem's demo entity (fixtures/config/demo.json), deterministic.
const kFirst = ['Ana', 'Bruno', 'Chloe', 'Dmitri', 'Eva', 'Farid', 'Grace', 'Hugo', 'Ines', 'Jon'];
const kLast = ['Silva', 'Meyer', 'Dubois', 'Ivanov', 'Rossi', 'Haddad', 'Kim', 'Novak', 'Ortiz'];
const kCities = ['Lisbon', 'Berlin', 'Paris', 'London', 'Toronto', 'Utrecht', 'Madrid', 'Rome'];
const kCountries = ['PT', 'DE', 'FR', 'GB', 'CA', 'NL', 'ES', 'IT'];

function customer(i) {
  const id = String(i).padStart(6, '0');
  return {
    _id: `cust-${id}`,
    email: `person${id}@example.com`,
    first_name: kFirst[i % kFirst.length],
    last_name: kLast[i % kLast.length],
    phone: `+1 555 ${id}`,
    company: `Company ${i % 97}`,
    street: `${(i % 300) + 1} Main Street`,
    city: kCities[i % kCities.length],
    postal_code: String(10000 + (i % 89999)),
    country: kCountries[i % kCountries.length],
    credit_limit: 1000 * ((i % 50) + 1),
  };
}

async function bulkInChunks(db, docs, chunk = 1000) {
  for (let i = 0; i < docs.length; i += chunk) {
    const results = await db.bulkDocs(docs.slice(i, i + chunk));
    const failed = results.filter((r) => r.error);
    if (failed.length > 0) {
      throw new Error(`pouchdb_peer: bulkDocs: ${failed.length} failed, first: ${JSON.stringify(failed[0])}`);
    }
  }
}

async function countDocs(db) {
  return (await db.info()).doc_count;
}

function startServer() {
  const ServerPouch = PouchDB.defaults({ adapter: 'memory', prefix: 'server_' });
  const app = express();
  app.use('/', expressPouchdb(ServerPouch, { mode: 'minimumForPouchDB', inMemoryConfig: true }));
  return new Promise((resolve, reject) => {
    const server = http.createServer(app);
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

// One one-shot bidirectional sync; resolves with the seconds until `done()` first held (checked
// after every batch the pull side writes) and when the sync completes.
function syncUntil(a, b, done) {
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    let reached = null;
    const check = async () => {
      if (reached === null && (await done())) {
        reached = Number(process.hrtime.bigint() - start) / 1e9;
      }
    };
    const sync = PouchDB.sync(a, b);
    sync.on('change', () => {
      check().catch(reject);
    });
    sync.on('error', (err) => reject(new Error(`pouchdb_peer: sync: ${err && (err.message || err)}`)));
    sync.on('complete', async (info) => {
      try {
        await check();
        const total = Number(process.hrtime.bigint() - start) / 1e9;
        resolve({ reached: reached === null ? total : reached, total, info });
      } catch (err) {
        reject(err);
      }
    });
  });
}

async function main() {
  const { records, edits } = parseArgs(process.argv);
  const server = await startServer();
  const url = `http://127.0.0.1:${server.address().port}/peer_a`;
  const a = new PouchDB(url);
  const b = new PouchDB('peer_b', { adapter: 'memory' });
  try {
    const docs = [];
    for (let i = 0; i < records; ++i) {
      docs.push(customer(i));
    }
    await bulkInChunks(a, docs);
    if ((await countDocs(a)) !== records) {
      throw new Error(`pouchdb_peer: store A holds ${await countDocs(a)} of ${records} after the load`);
    }

    const initial = await syncUntil(a, b, async () => (await countDocs(b)) >= records);
    const inB = await countDocs(b);
    if (inB !== records) {
      throw new Error(`pouchdb_peer: after the sync store B holds ${inB} of ${records}`);
    }

    // Concurrent edits to different fields of the same K documents, one per side.
    const ids = docs.slice(0, edits).map((d) => d._id);
    const newCity = (i) => `City-A-${i}`;
    const newPhone = (i) => `+44 20 7000 ${String(i).padStart(4, '0')}`;
    const editSide = async (db, change) => {
      const got = await db.allDocs({ keys: ids, include_docs: true });
      const updated = got.rows.map((row, i) => change({ ...row.doc }, i));
      await bulkInChunks(db, updated);
    };
    await editSide(a, (doc, i) => Object.assign(doc, { city: newCity(i) }));
    await editSide(b, (doc, i) => Object.assign(doc, { phone: newPhone(i) }));
    const round = await syncUntil(a, b, async () => false);

    const inspect = async (db) => {
      let both = 0;
      let cityOnly = 0;
      let phoneOnly = 0;
      let conflicted = 0;
      const keptBoth = new Set();
      for (let i = 0; i < ids.length; ++i) {
        const doc = await db.get(ids[i], { conflicts: true });
        const city = doc.city === newCity(i);
        const phone = doc.phone === newPhone(i);
        both += city && phone ? 1 : 0;
        if (city && phone) {
          keptBoth.add(ids[i]);
        }
        cityOnly += city && !phone ? 1 : 0;
        phoneOnly += phone && !city ? 1 : 0;
        conflicted += Array.isArray(doc._conflicts) && doc._conflicts.length > 0 ? 1 : 0;
      }
      return {
        counts: { both, city_only: cityOnly, phone_only: phoneOnly, with_conflicts: conflicted },
        keptBoth,
      };
    };
    const keptA = await inspect(a);
    const keptB = await inspect(b);

    const out = {
      peer: 'pouchdb',
      version: require('pouchdb-core/package.json').version,
      server: `express-pouchdb ${require('express-pouchdb/package.json').version} (memory adapter) over HTTP`,
      mode: 'one-shot PouchDB.sync(A over HTTP, local B)',
      records,
      sync_seconds: initial.reached,
      docs_per_s: initial.reached > 0 ? records / initial.reached : null,
      edits,
      edit_sync_seconds: round.total,
      // Documents whose winning revision holds both edits on both sides.
      kept_both: [...keptA.keptBoth].filter((id) => keptB.keptBoth.has(id)).length,
      side_a: keptA.counts,
      side_b: keptB.counts,
    };
    process.stdout.write(JSON.stringify(out) + '\n');
  } finally {
    await b.destroy().catch(() => {});
    server.close();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    const ours = err && typeof err.message === 'string' && err.message.startsWith('pouchdb_peer:');
    process.stderr.write(`${ours ? err.message : err && err.stack ? err.stack : err}\n`);
    process.exit(1);
  },
);

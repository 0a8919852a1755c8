// Checks Grafana dashboards (JSON files given as arguments):
//  1. against the JSON Schema of @grafana/schema's Dashboard type (argv[2]);
//  2. explicitly, what the schema cannot say:
//     - the data source is the `datasource` template variable (type
//       datasource, query prometheus) everywhere: every panel that is not a
//       row, every target, every query variable and annotation; no
//       data source uid is hard-coded anywhere;
//     - panel ids are unique integers (rows and their nested panels too);
//       panels fit the 24-column grid and do not overlap;
//     - every template variable an expression, legend, title or query uses
//       is defined (or is one of Grafana's built-in ones);
//     - schemaVersion is one Grafana 11 and 12 read (39..42); uid is set,
//       at most 40 characters and unique across the files.
//
//   node check_dashboards.js SCHEMA.json DASHBOARD.json...
'use strict';
const fs = require('fs');
const path = require('path');
const Ajv = require('ajv');

const [schemaFile, ...files] = process.argv.slice(2);
const schema = JSON.parse(fs.readFileSync(schemaFile, 'utf8'));
const ajv = new Ajv({allErrors: true, strict: false});
const validate = ajv.compile(schema);

const DS_UID = '${datasource}';
const BUILTIN = new Set(['__interval', '__interval_ms', '__rate_interval', '__rate_interval_ms', '__range', '__range_s',
  '__range_ms', '__from', '__to', '__dashboard', '__org', '__user', '__name', '__timeFilter', '__auto']);
let errors = 0;
const uids = new Map();

function error(file, msg) {
  console.error(`${file}: ${msg}`);
  errors++;
}

// Every $var, ${var}, ${var:format}, ${var.field} and [[var]] in s.
function variablesIn(s) {
  const out = [];
  const re = /\$\{([A-Za-z0-9_]+)(?:[.:][^}]*)?\}|\[\[([A-Za-z0-9_]+)(?::[^\]]*)?\]\]|\$([A-Za-z0-9_]+)/g;
  let m;
  while ((m = re.exec(s)) !== null) out.push(m[1] || m[2] || m[3]);
  return out;
}

function isVariableDatasource(ds) {
  return ds && typeof ds === 'object' && (ds.uid === DS_UID || ds.uid === '$datasource') &&
    (ds.type === undefined || ds.type === 'prometheus');
}

function checkFile(file) {
  const name = path.basename(file);
  let d;
  try {
    d = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    return error(name, `not JSON: ${e.message}`);
  }
  if (!validate(d)) {
    for (const e of validate.errors) {
      error(name, `schema: ${e.instancePath || '/'} ${e.message}${e.params ? ' ' + JSON.stringify(e.params) : ''}`);
    }
  }
  if (!(d.schemaVersion >= 39 && d.schemaVersion <= 42)) error(name, `schemaVersion ${d.schemaVersion} is not 39..42 (Grafana 11/12)`);
  if (typeof d.uid !== 'string' || !/^[A-Za-z0-9_-]{1,40}$/.test(d.uid)) error(name, `uid ${JSON.stringify(d.uid)} is not 1..40 of [A-Za-z0-9_-]`);
  else if (uids.has(d.uid)) error(name, `uid ${d.uid} is also the uid of ${uids.get(d.uid)}`);
  else uids.set(d.uid, name);

  // Template variables.
  const vars = (d.templating && d.templating.list) || [];
  const defined = new Set();
  const used = []; // [where, text]
  let dsVar = false;
  for (const v of vars) {
    if (defined.has(v.name)) error(name, `template variable ${v.name} is defined twice`);
    defined.add(v.name);
    if (v.name === 'datasource') {
      if (v.type !== 'datasource' || v.query !== 'prometheus') error(name, 'variable datasource must be of type datasource with query prometheus');
      else dsVar = true;
    }
    if (v.type === 'query') {
      if (!isVariableDatasource(v.datasource)) error(name, `variable ${v.name}: datasource must be {type: prometheus, uid: ${DS_UID}}, is ${JSON.stringify(v.datasource)}`);
      const q = typeof v.query === 'string' ? v.query : v.query && v.query.query;
      if (!q) error(name, `variable ${v.name} has no query`);
      else used.push([`variable ${v.name}`, q]);
      if (v.definition) used.push([`variable ${v.name}`, v.definition]);
    }
  }
  if (!dsVar) error(name, 'no template variable "datasource" of type datasource (query prometheus)');

  // Annotations.
  for (const a of (d.annotations && d.annotations.list) || []) {
    if (!isVariableDatasource(a.datasource)) error(name, `annotation ${a.name}: datasource must be ${DS_UID}, is ${JSON.stringify(a.datasource)}`);
    for (const k of ['expr', 'titleFormat', 'textFormat']) if (a[k]) used.push([`annotation ${a.name}`, a[k]]);
  }

  // Panels, rows and their nested panels.
  const ids = new Map();
  const boxes = [];
  const panels = [];
  for (const p of d.panels || []) {
    panels.push(p);
    for (const c of p.panels || []) {
      c.__nested = true;
      panels.push(c);
    }
  }
  if (panels.length === 0) error(name, 'no panels');
  for (const p of panels) {
    const where = `panel ${p.id} "${p.title}"`;
    if (!Number.isInteger(p.id)) error(name, `${where}: id is not an integer`);
    else if (ids.has(p.id)) error(name, `${where}: id ${p.id} is also the id of "${ids.get(p.id)}"`);
    else ids.set(p.id, p.title);
    if (p.title) used.push([where, p.title]);
    if (p.description) used.push([where, p.description]);
    if (p.repeat) used.push([where, '$' + p.repeat]);
    const g = p.gridPos;
    if (!g) error(name, `${where}: no gridPos`);
    else {
      if (g.x < 0 || g.w < 1 || g.x + g.w > 24 || g.h < 1 || g.y < 0) error(name, `${where}: gridPos ${JSON.stringify(g)} is off the 24-column grid`);
      if (!p.__nested) boxes.push([where, g]);
    }
    if (p.type === 'row') {
      if (p.targets && p.targets.length) error(name, `${where}: a row has targets`);
      continue;
    }
    if (!isVariableDatasource(p.datasource)) error(name, `${where}: datasource must be {type: prometheus, uid: ${DS_UID}}, is ${JSON.stringify(p.datasource)}`);
    if (!Array.isArray(p.targets) || p.targets.length === 0) error(name, `${where}: no targets`);
    const refIds = new Set();
    for (const t of p.targets || []) {
      if (t.datasource !== undefined && !isVariableDatasource(t.datasource)) error(name, `${where} target ${t.refId}: datasource must be ${DS_UID}, is ${JSON.stringify(t.datasource)}`);
      if (refIds.has(t.refId)) error(name, `${where}: refId ${t.refId} twice`);
      refIds.add(t.refId);
      if (typeof t.expr !== 'string' || !t.expr.trim()) error(name, `${where} target ${t.refId}: no expr`);
      else used.push([`${where} target ${t.refId}`, t.expr]);
      if (t.legendFormat) used.push([`${where} target ${t.refId} legend`, t.legendFormat]);
    }
  }
  // Panels inside a collapsed row are laid out when it expands: only the top level must not overlap.
  const visible = boxes;
  for (let i = 0; i < visible.length; i++) {
    for (let j = i + 1; j < visible.length; j++) {
      const [wa, a] = visible[i], [wb, b] = visible[j];
      if (a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h) error(name, `${wa} overlaps ${wb}`);
    }
  }

  // No hard-coded data source anywhere (any object under a "datasource" key).
  (function walk(node, at) {
    if (Array.isArray(node)) return node.forEach((c, i) => walk(c, `${at}/${i}`));
    if (!node || typeof node !== 'object') return;
    for (const [k, v] of Object.entries(node)) {
      if (k === 'datasource' && v && typeof v === 'object' && !Array.isArray(v) && v.uid !== undefined && !isVariableDatasource(v)) {
        error(name, `${at}/${k}: hard-coded data source ${JSON.stringify(v)}`);
      }
      if (k === 'datasource' && typeof v === 'string' && !/^\$\{?datasource\}?$/.test(v)) error(name, `${at}/${k}: data source by name ${JSON.stringify(v)}`);
      walk(v, `${at}/${k}`);
    }
  })(d, '');

  for (const [where, text] of used) {
    for (const v of variablesIn(text)) {
      if (!defined.has(v) && !BUILTIN.has(v)) error(name, `${where}: uses undefined variable $${v} in ${JSON.stringify(text)}`);
    }
  }
  const nTargets = panels.reduce((n, p) => n + ((p.targets || []).length), 0);
  console.log(`${name}: ${panels.length} panels, ${nTargets} queries, variables: ${[...defined].join(', ')}`);
}

for (const f of files) checkFile(f);
if (errors) {
  console.error(`${errors} problem(s)`);
  process.exit(1);
}

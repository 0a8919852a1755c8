#!/usr/bin/env node
// Checks a `helm template` rendering of charts/trunkline:
//
//   1. every document validates against its Kubernetes schema
//      (kubernetes-models 4.5.1: Kubernetes 1.27; prometheus-operator models
//      for ServiceMonitor and PrometheusRule); a kind without a schema fails;
//   2. what matters and a schema does not enforce (misspelt fields pass it):
//      every container non-root with a fixed UID, nothing privileged, no
//      privilege escalation, a read-only root filesystem, every capability
//      dropped and none added, gRPC readiness and liveness probes on a
//      declared port, CPU and memory requests and limits, a preStop hook, the
//      flags every service takes; selectors of Services, PDBs, HPAs and
//      NetworkPolicies that find their pods; the topology ConfigMap mounted.
//
//   node validate_manifests.js RENDERED.yaml [--topology-out FILE]
//
// --topology-out writes the topology.yaml of the topology ConfigMap to FILE.
// Exit 0 when every check passes; 1 with every problem listed otherwise.
'use strict';

const fs = require('fs');
const YAML = require('yaml');

const args = process.argv.slice(2);
const file = args[0];
const topologyOut = args.includes('--topology-out') ? args[args.indexOf('--topology-out') + 1] : null;
if (!file) {
  console.error('usage: validate_manifests.js RENDERED.yaml [--topology-out FILE]');
  process.exit(2);
}

const problems = [];
const problem = (doc, message) => problems.push(`${doc ? `${doc.kind}/${doc.metadata && doc.metadata.name}` : file}: ${message}`);

// --- parse --------------------------------------------------------------
const docs = [];
for (const parsed of YAML.parseAllDocuments(fs.readFileSync(file, 'utf8'))) {
  if (parsed.errors.length) {
    parsed.errors.forEach((e) => problem(null, `YAML: ${e.message}`));
    continue;
  }
  const doc = parsed.toJS();
  if (doc === null || doc === undefined) continue;
  docs.push(doc);
}
if (!docs.length) problem(null, 'no manifests');

// --- 1. schemas ---------------------------------------------------------
function modelFor(apiVersion, kind) {
  const modules = apiVersion.startsWith('monitoring.coreos.com/')
    ? [`@kubernetes-models/prometheus-operator/${apiVersion}`]
    : [`kubernetes-models/${apiVersion}`];
  for (const name of modules) {
    try {
      const model = require(name)[kind];
      if (model) return model;
    } catch (e) {
      if (e.code !== 'MODULE_NOT_FOUND') throw e;
    }
  }
  return null;
}

for (const doc of docs) {
  if (!doc.apiVersion || !doc.kind) {
    problem(doc, 'apiVersion or kind missing');
    continue;
  }
  const Model = modelFor(doc.apiVersion, doc.kind);
  if (!Model) {
    problem(doc, `no schema for ${doc.apiVersion} ${doc.kind}`);
    continue;
  }
  try {
    new Model(doc).validate();
  } catch (e) {
    problem(doc, `does not validate against the ${doc.apiVersion} ${doc.kind} schema: ${e.message}`);
  }
  if (!doc.metadata || !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(doc.metadata.name || '') ||
      doc.metadata.name.length > 63) {
    problem(doc, 'metadata.name is not a DNS-1123 name of at most 63 characters');
  }
}

// --- 2. what matters ----------------------------------------------------
const byKind = (kind) => docs.filter((d) => d.kind === kind);
const workloads = docs.filter((d) => ['Deployment', 'StatefulSet', 'DaemonSet'].includes(d.kind));
const matches = (selector, labels) =>
  selector && Object.keys(selector).length > 0 &&
  Object.entries(selector).every(([k, v]) => labels && labels[k] === v);
const podLabels = (w) => (w.spec.template.metadata || {}).labels || {};

const SERVICE_PORTS = {signaling: [50051, 50052, 9451], routing: [50061, 50062, 9461], media: [50071, 50072, 9471]};
const topologyConfigMaps = byKind('ConfigMap').filter((c) => c.data && 'topology.yaml' in c.data);
if (topologyConfigMaps.length !== 1) problem(null, `expected one ConfigMap with topology.yaml, found ${topologyConfigMaps.length}`);

for (const w of workloads) {
  const pod = w.spec.template.spec;
  const psc = pod.securityContext || {};
  const component = podLabels(w)['app.kubernetes.io/component'];
  if (!matches(w.spec.selector.matchLabels, podLabels(w))) problem(w, 'selector does not match its pod template');
  if (pod.hostPID || pod.hostIPC) problem(w, 'hostPID/hostIPC');
  if (pod.automountServiceAccountToken !== false) problem(w, 'mounts a service account token');
  if (typeof pod.terminationGracePeriodSeconds !== 'number') problem(w, 'terminationGracePeriodSeconds is not set');
  if (pod.hostNetwork && pod.dnsPolicy !== 'ClusterFirstWithHostNet') problem(w, 'hostNetwork without dnsPolicy ClusterFirstWithHostNet');
  if (psc.runAsNonRoot !== true) problem(w, 'pod securityContext.runAsNonRoot is not true');
  if (!Number.isInteger(psc.runAsUser) || psc.runAsUser <= 0) problem(w, 'pod securityContext.runAsUser is not a fixed non-root UID');
  if (!['Deployment', 'StatefulSet'].includes(w.kind)) problem(w, 'unexpected workload kind');
  if (w.kind === 'StatefulSet') {
    const svc = byKind('Service').find((s) => s.metadata.name === w.spec.serviceName);
    if (!svc || svc.spec.clusterIP !== 'None') problem(w, `serviceName ${w.spec.serviceName} is not a headless Service of the chart`);
  }
  const volumes = Object.fromEntries((pod.volumes || []).map((v) => [v.name, v]));
  const config = volumes.config;
  const cmName = config && config.projected && (config.projected.sources.find((s) => s.configMap) || {}).configMap;
  if (!cmName || !topologyConfigMaps.some((c) => c.metadata.name === cmName.name)) {
    problem(w, 'does not mount the topology ConfigMap');
  }
  for (const c of pod.containers.concat(pod.initContainers || [])) {
    const where = `container ${c.name}`;
    const sc = c.securityContext || {};
    const runAsNonRoot = sc.runAsNonRoot !== undefined ? sc.runAsNonRoot : psc.runAsNonRoot;
    const uid = sc.runAsUser !== undefined ? sc.runAsUser : psc.runAsUser;
    if (runAsNonRoot !== true) problem(w, `${where}: runAsNonRoot is not true`);
    if (!Number.isInteger(uid) || uid <= 0) problem(w, `${where}: runAsUser is not a fixed non-root UID`);
    if (sc.privileged !== false) problem(w, `${where}: privileged is not false`);
    if (sc.allowPrivilegeEscalation !== false) problem(w, `${where}: allowPrivilegeEscalation is not false`);
    if (sc.readOnlyRootFilesystem !== true) problem(w, `${where}: readOnlyRootFilesystem is not true`);
    const caps = sc.capabilities || {};
    if (!(caps.drop || []).includes('ALL')) problem(w, `${where}: capabilities are not all dropped`);
    if ((caps.add || []).length) problem(w, `${where}: adds capabilities ${caps.add.join(', ')}`);
    for (const kind of ['requests', 'limits']) {
      for (const resource of ['cpu', 'memory']) {
        if (!c.resources || !c.resources[kind] || c.resources[kind][resource] === undefined) {
          problem(w, `${where}: resources.${kind}.${resource} is not set`);
        }
      }
    }
    const declared = (c.ports || []).map((p) => p.containerPort);
    const grpcPorts = {};
    for (const probe of ['readinessProbe', 'livenessProbe', 'startupProbe']) {
      const p = c[probe];
      if (!p) {
        if (probe !== 'startupProbe') problem(w, `${where}: no ${probe}`);
        continue;
      }
      if (!p.grpc || !Number.isInteger(p.grpc.port)) {
        problem(w, `${where}: ${probe} is not a gRPC health probe`);
        continue;
      }
      grpcPorts[probe] = p.grpc.port;
      if (!declared.includes(p.grpc.port)) problem(w, `${where}: ${probe} port ${p.grpc.port} is not a declared container port`);
    }
    const preStop = c.lifecycle && c.lifecycle.preStop;
    if (!preStop || !(preStop.exec || preStop.httpGet || preStop.sleep)) problem(w, `${where}: no preStop hook`);
    if (!c.image) problem(w, `${where}: no image`);
    // The flags every service takes.
    const flags = Object.fromEntries((c.args || []).map((a) => a.split(/=(.*)/s).slice(0, 2)));
    if (flags['--topology'] !== '/etc/trunkline/topology.yaml') problem(w, `${where}: --topology is not /etc/trunkline/topology.yaml`);
    for (const flag of ['--grpc_address', '--admin_address', '--metrics_address', '--log_level']) {
      if (!flags[flag]) problem(w, `${where}: no ${flag}`);
    }
    const apiPort = Number((flags['--grpc_address'] || '').split(':').pop());
    if (grpcPorts.readinessProbe !== apiPort) problem(w, `${where}: readiness probe is not on the --grpc_address port ${apiPort}`);
    if (c.command && !/^\/usr\/local\/bin\/(signaling|routing|media)$/.test(c.command[0])) problem(w, `${where}: command ${c.command[0]}`);
    if (component === 'signaling') {
      if (!/^[^:]+:\d+$/.test(flags['--routing'] || '')) problem(w, `${where}: --routing is not HOST:PORT`);
      if (!flags['--media'] || !flags['--media'].split(',').every((m) => /^[^:,]+:\d+$/.test(m))) {
        problem(w, `${where}: --media is not a comma-separated list of HOST:PORT`);
      }
    }
    if (SERVICE_PORTS[component]) {  // the documented defaults; the checks render with them
      const [api, admin, metrics] = SERVICE_PORTS[component];
      for (const [flag, port] of [['--grpc_address', api], ['--admin_address', admin], ['--metrics_address', metrics]]) {
        if (!(flags[flag] || '').endsWith(`:${port}`)) problem(w, `${where}: ${flag} is not on the default port ${port}`);
      }
    }
  }
}
for (const component of ['signaling', 'routing', 'media']) {
  if (!workloads.some((w) => podLabels(w)['app.kubernetes.io/component'] === component)) {
    problem(null, `no workload for ${component}`);
  }
}

// Selectors find their pods; targets exist.
for (const s of byKind('Service')) {
  if (!workloads.some((w) => matches(s.spec.selector, podLabels(w)))) problem(s, 'selector matches no workload');
  for (const p of s.spec.ports || []) {
    if (typeof p.targetPort === 'string') {
      const named = workloads.filter((w) => matches(s.spec.selector, podLabels(w)))
        .some((w) => w.spec.template.spec.containers.some((c) => (c.ports || []).some((cp) => cp.name === p.targetPort)));
      if (!named) problem(s, `targetPort ${p.targetPort} names no container port`);
    }
  }
}
for (const pdb of byKind('PodDisruptionBudget')) {
  if (!workloads.some((w) => matches(pdb.spec.selector.matchLabels, podLabels(w)))) problem(pdb, 'selector matches no workload');
}
for (const np of byKind('NetworkPolicy')) {
  if (!workloads.some((w) => matches(np.spec.podSelector.matchLabels, podLabels(w)))) problem(np, 'podSelector matches no workload');
}
for (const hpa of byKind('HorizontalPodAutoscaler')) {
  const ref = hpa.spec.scaleTargetRef;
  const target = workloads.find((w) => w.kind === ref.kind && w.metadata.name === ref.name);
  if (!target) problem(hpa, `scaleTargetRef ${ref.kind}/${ref.name} is not in the rendering`);
  else if (target.spec.replicas !== undefined) problem(hpa, `${ref.kind}/${ref.name} sets replicas while autoscaled`);
}

if (topologyOut && topologyConfigMaps.length === 1) {
  fs.writeFileSync(topologyOut, topologyConfigMaps[0].data['topology.yaml']);
}

const counts = {};
docs.forEach((d) => { counts[d.kind] = (counts[d.kind] || 0) + 1; });
const summary = Object.entries(counts).map(([k, n]) => `${n} ${k}`).join(', ');
if (problems.length) {
  problems.forEach((p) => console.error(`  ${p}`));
  console.error(`${file}: ${problems.length} problems (${summary})`);
  process.exit(1);
}
console.log(`${file}: ${docs.length} manifests valid (${summary})`);

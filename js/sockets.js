// The reference sockets of a Seedance node, shown as they are connected: of each kind (images,
// videos, audio clips) every connected socket and one free one, while fewer are connected than the
// chosen model takes. The server declares every socket, so a saved workflow linking any of them
// loads and runs as before; only the node's view is smaller. The planning is pure (node --test
// covers it); fitSockets is the one place that adds, removes and moves LiteGraph input slots.

// The model combo's entry with each model's counts (nodes/options.py REFERENCE_LIMITS).
export const REFERENCE_LIMITS = "runninghub_references";

const KINDS = [
  ["image", /^images(?:_(\d+))?$/],  // "images" is the first image socket
  ["video", /^video_(\d+)$/],
  ["audio", /^audio_(\d+)$/],
];

/** The kind and number of a reference socket's name, or null for any other input. */
export function socketOf(name) {
  for (const [rank, [kind, pattern]] of KINDS.entries()) {
    const match = pattern.exec(name ?? "");
    if (match) return { kind, rank, number: Number(match[1] ?? 1) };
  }
  return null;
}

const orderOf = (name) => {
  const socket = socketOf(name);
  return socket.rank * 1000 + socket.number;
};

/** The reference sockets among `names`: images, then videos, then audio clips, each by number. */
export function inOrder(names) {
  return names.filter((name) => socketOf(name)).sort((a, b) => orderOf(a) - orderOf(b));
}

/** Each model's counts from a node definition (the model combo's REFERENCE_LIMITS entry), or
 * undefined for a node without them. */
export function referenceLimits(nodeData) {
  const model = nodeData?.input?.required?.model ?? nodeData?.input?.optional?.model;
  return model?.[1]?.[REFERENCE_LIMITS];
}

/** The reference sockets to show, in order: of each kind every connected one, plus its first free
 * one while fewer are connected than `limits[kind]`. Without limits (a model the node does not
 * know) every declared socket shows. */
export function shownSockets(declared, connected, limits) {
  const ordered = inOrder(declared);
  if (!limits) return ordered;
  const shown = [];
  for (const [kind] of KINDS) {
    const own = ordered.filter((name) => socketOf(name).kind === kind);
    const linked = own.filter((name) => connected.has(name)).length;
    const free = linked < (limits[kind] ?? 0) ? own.find((name) => !connected.has(name)) : undefined;
    shown.push(...own.filter((name) => connected.has(name) || name === free));
  }
  return shown;
}

/** The index at which the socket `name` joins the node's inputs (`names`, in node order): after
 * the reference socket that comes just before it, else before the first one after it, else last. */
export function placeOf(names, name) {
  const order = orderOf(name);
  let after = -1;
  let before = -1;
  names.forEach((other, index) => {
    if (!socketOf(other)) return;
    if (orderOf(other) < order && (after === -1 || orderOf(other) > orderOf(names[after]))) after = index;
    if (orderOf(other) > order && (before === -1 || orderOf(other) < orderOf(names[before]))) before = index;
  });
  if (after !== -1) return after + 1;
  return before !== -1 ? before : names.length;
}

/** Whether input `index` of `node` has a link (newer frontends read links by slot, older ones
 * from the slot's `link`). */
export function isConnected(node, index) {
  if (typeof node.isInputConnected === "function") return node.isInputConnected(index);
  return node.inputs?.[index]?.link != null;
}

// Moves input `from` to the lower index `to`: LiteGraph appends new inputs and offers no insert, so
// the inputs in between move up one slot and their links follow them, highest first so that no
// link is ever moved onto a slot that another still holds (newer frontends refuse that).
function moveInput(node, from, to) {
  if (to >= from) return;
  const moved = [];
  for (let index = from - 1; index >= to; index--) {
    const link = node.graph ? node.getInputLink?.(index) : null;
    if (link) moved.push([link, index + 1]);
  }
  const floating = [...(node.graph?.floatingLinks?.values?.() ?? [])]
    .filter((link) => link.target_id === node.id && link.target_slot >= to && link.target_slot < from)
    .sort((a, b) => b.target_slot - a.target_slot);
  const [slot] = node.inputs.splice(from, 1);
  node.inputs.splice(to, 0, slot);
  for (const [link, index] of moved) link.target_slot = index;
  for (const link of floating) link.target_slot += 1;
}

/** Shows `node`'s reference sockets as shownSockets says for `limits`. `templates` maps every
 * socket the node declares to the slot it was created with ({type, localized_name}), to add it
 * back alike. A connected socket is never removed. Returns whether anything changed. */
export function fitSockets(node, templates, limits) {
  const inputs = node.inputs ?? [];
  const connected = new Set(inputs.filter((_, index) => isConnected(node, index)).map((input) => input.name));
  const shown = shownSockets(Object.keys(templates), connected, limits);
  let changed = false;
  for (let index = inputs.length - 1; index >= 0; index--) {
    const { name } = inputs[index];
    if (name in templates && !shown.includes(name)) {
      node.removeInput(index);
      changed = true;
    }
  }
  for (const name of shown) {
    if (node.inputs.some((input) => input.name === name)) continue;
    const at = placeOf(node.inputs.map((input) => input.name), name);
    const { type, ...slot } = templates[name];
    node.addInput(name, type, slot);
    moveInput(node, node.inputs.length - 1, at);
    changed = true;
  }
  return changed;
}

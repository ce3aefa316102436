// The reference sockets of the Seedance 2.x node as a user sees them (js/sockets.js): the planning
// as pure functions, and fitSockets on a node whose links behave as the newer frontend's do (a
// link belongs to a slot index; no link may be moved onto a slot another link holds).
import { test } from "node:test";
import assert from "node:assert/strict";

import { moduleUrl } from "./standins.mjs";

const { fitSockets, inOrder, placeOf, referenceLimits, shownSockets, socketOf } = await import(await moduleUrl("sockets.js"));

// As the server declares them: 2.0's nine sockets first, 2.5's extra ones after the widgets.
const DECLARED = ["images", "images_2", "images_3", "video_1", "video_2", "video_3", "audio_1", "audio_2", "audio_3",
  ...[4, 5, 6, 7, 8, 9, 10].map((n) => `video_${n}`), ...[4, 5, 6, 7, 8, 9, 10].map((n) => `audio_${n}`)];
const V2_0 = { label: "Seedance 2.0", image: 9, video: 3, audio: 3 };
const V2_5 = { label: "Seedance 2.5", image: 30, video: 10, audio: 10 };
const shown = (connected, limits) => shownSockets(DECLARED, new Set(connected), limits);

test("a fresh node shows one image, one video and one audio socket", () => {
  assert.deepEqual(shown([], V2_0), ["images", "video_1", "audio_1"]);
  assert.deepEqual(shown([], V2_5), ["images", "video_1", "audio_1"]);
});

test("connecting a socket shows the next one of its kind, up to what the model takes", () => {
  assert.deepEqual(shown(["images"], V2_0), ["images", "images_2", "video_1", "audio_1"]);
  assert.deepEqual(shown(["images", "images_2", "images_3"], V2_0), ["images", "images_2", "images_3", "video_1", "audio_1"],
    "three image sockets at most: a batch carries more images");
  assert.deepEqual(shown(["video_1", "video_2"], V2_0), ["images", "video_1", "video_2", "video_3", "audio_1"]);
  assert.deepEqual(shown(["video_1", "video_2", "video_3"], V2_0), ["images", "video_1", "video_2", "video_3", "audio_1"],
    "2.0 takes three videos: no fourth socket");
  assert.deepEqual(shown(["video_1", "video_2", "video_3"], V2_5),
    ["images", "video_1", "video_2", "video_3", "video_4", "audio_1"]);
});

test("a model that takes fewer never hides a connected socket, and offers no free one", () => {
  const five = ["video_1", "video_2", "video_3", "video_4", "video_5"];
  assert.deepEqual(shown(five, V2_0), ["images", ...five, "audio_1"]);
});

test("a socket freed in the middle is the free one; a free one after it goes", () => {
  assert.deepEqual(shown(["video_1", "video_3"], V2_5), ["images", "video_1", "video_2", "video_3", "audio_1"]);
});

test("a model the node does not know shows every socket", () => {
  assert.deepEqual(shown([], undefined), inOrder(DECLARED));
});

test("sockets sort by kind, then number; other inputs are no sockets", () => {
  assert.deepEqual(inOrder(["audio_2", "video_10", "prompt", "images_2", "video_2", "images"]),
    ["images", "images_2", "video_2", "video_10", "audio_2"]);
  assert.equal(socketOf("prompt"), null);
  assert.equal(socketOf("image_1"), null, "the v1-lite node's sockets are not these");
});

test("a new socket joins its kind: after the one before it, else before the one after it", () => {
  const names = ["model", "images", "video_1", "video_2", "audio_1", "prompt", "seed"];
  assert.equal(placeOf(names, "images_2"), 2);
  assert.equal(placeOf(names, "video_3"), 4);
  assert.equal(placeOf(["model", "video_1", "prompt"], "images"), 1);
  assert.equal(placeOf(["model", "prompt"], "audio_1"), 2);
  // a workflow saved before: 2.5's sockets after the widgets
  assert.equal(placeOf(["images", "video_1", "video_2", "video_3", "audio_1", "prompt", "video_4"], "video_5"), 7);
});

test("the counts come from the model list's entry in the node definition", () => {
  const nodeData = { input: { required: { model: ["COMBO", { runninghub_references: { "seedance-2.0": V2_0 } }] } } };
  assert.deepEqual(referenceLimits(nodeData), { "seedance-2.0": V2_0 });
  assert.equal(referenceLimits({ input: { required: { model: ["COMBO", {}] } } }), undefined);
});

// --- fitSockets on a node whose links live by slot index, as in the newer frontend ---------------
function graphNode(names, links) {
  const bySlot = new Map();  // slot index -> link, the frontend's link store
  const node = {
    id: 5,
    inputs: names.map((name) => ({ name, type: name.startsWith("video") ? "VIDEO" : "IMAGE" })),
    size: [400, 900],
    graph: { floatingLinks: new Map() },
    isInputConnected: (index) => bySlot.has(index),
    getInputLink: (index) => bySlot.get(index) ?? null,
    addInput(name, type, extra) {
      const input = { name, type, ...extra };
      node.inputs.push(input);
      return input;
    },
    removeInput(index) {
      assert.ok(!bySlot.has(index), "never a connected socket");
      node.inputs.splice(index, 1);
      for (const slot of [...bySlot.keys()].sort((a, b) => a - b)) if (slot > index) bySlot.get(slot).target_slot = slot - 1;
    },
  };
  for (const [name, origin] of Object.entries(links)) {
    let slot = names.indexOf(name);
    const link = { origin,
      get target_slot() { return slot; },
      set target_slot(value) {
        assert.ok(!bySlot.has(value) || bySlot.get(value) === link, `slot ${value} is taken`);
        bySlot.delete(slot);
        bySlot.set(value, link);
        slot = value;
      } };
    bySlot.set(slot, link);
  }
  const sources = () => Object.fromEntries(node.inputs.flatMap((input, index) =>
    (bySlot.has(index) ? [[input.name, bySlot.get(index).origin]] : [])));
  return { node, sources };
}
const templates = Object.fromEntries(DECLARED.map((name) => [name, { type: "T", localized_name: `«${name}»` }]));

test("a new socket appears among its kind and every link stays on its source", () => {
  const { node, sources } = graphNode(["model", "images", "video_1", "audio_1", "prompt", "seed"],
    { images: "LoadImage", video_1: "LoadVideo", audio_1: "Audio" });
  assert.equal(fitSockets(node, templates, V2_0), true);
  assert.deepEqual(node.inputs.map((input) => input.name),
    ["model", "images", "images_2", "video_1", "video_2", "audio_1", "audio_2", "prompt", "seed"]);
  assert.deepEqual(sources(), { images: "LoadImage", video_1: "LoadVideo", audio_1: "Audio" });
  assert.equal(node.inputs[2].localized_name, "«images_2»", "added back with its translated name");
  assert.equal(fitSockets(node, templates, V2_0), false, "nothing more to do");
});

test("a workflow saved with every socket keeps its links and shows only the free ones it needs", () => {
  const names = ["model", ...DECLARED.slice(0, 9), "prompt", ...DECLARED.slice(9)];
  const { node, sources } = graphNode(names, { images_2: "A", video_1: "V1", video_5: "V5", audio_4: "S4" });
  fitSockets(node, templates, V2_5);
  assert.deepEqual(node.inputs.map((input) => input.name),
    ["model", "images", "images_2", "video_1", "video_2", "audio_1", "prompt", "video_5", "audio_4"]);
  assert.deepEqual(sources(), { images_2: "A", video_1: "V1", video_5: "V5", audio_4: "S4" });
});

// The pack's own HTTP routes (/runninghub/...), as the settings panel, the node panel and the
// RunningHub tab call them: GET without a body, POST with a JSON body; the answer's JSON.
import { api } from "../../scripts/api.js";

export async function call(path, body) {
  const options = body === undefined ? {} : {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  };
  const response = await api.fetchApi(`/runninghub${path}`, options);
  return response.json();
}

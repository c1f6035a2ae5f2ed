// coord for opencode: when a session goes idle and its worker holds no task, coord claims the
// next one, and this plugin sends it as the session's next prompt. Written by
// `coord hook install opencode`; see docs/agents.md.
const COORD = __COORD__;

export const CoordPlugin = async ({ client, $, directory }) => {
  // Sessions this plugin prompted on their last idle: their next idle follows its continuation.
  const prompted = new Set();
  return {
    event: async ({ event }) => {
      if (event.type !== "session.idle") return;
      const id = event.properties?.sessionID;
      if (typeof id !== "string") return;
      const input = JSON.stringify({
        hook_event_name: "session.idle",
        session_id: id,
        cwd: directory,
        stop_hook_active: prompted.has(id),
      });
      const out = await $`echo ${input} | ${COORD} hook opencode-idle`.quiet().nothrow();
      const text = out.stdout.toString().trim();
      if (!text) {
        prompted.delete(id);
        return;
      }
      const { prompt } = JSON.parse(text);
      prompted.add(id);
      await client.session.prompt({
        path: { id },
        body: { parts: [{ type: "text", text: prompt }] },
      });
    },
  };
};

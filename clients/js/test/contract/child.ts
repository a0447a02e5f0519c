/**
 * The process a killed step runs in: it does the step and, once the kill point is reached
 * (N parts stored / N bytes written and recorded), tells the parent and waits to be killed.
 */
import { ArtifactStore, parseSize } from "../../src/node.js";
import { Context, runStep, storeOptions, type Auth, type Step } from "./scenario.js";

interface Order {
  auth: Auth;
  workdir: string;
  step: Step;
}

const never = new Promise<void>(() => undefined);

process.once("message", (order: Order) => {
  void (async () => {
    const ctx = new Context(
      new ArtifactStore(await storeOptions(order.auth, process.env)),
      order.workdir,
      process.env,
      order.auth,
    );
    const { step } = order;
    const reached = async (): Promise<void> => {
      process.send?.({ reached: true });
      await never;
    };
    const parts = step.kill_after_parts as number | undefined;
    const bytes =
      step.kill_after_bytes === undefined ? undefined : parseSize(step.kill_after_bytes as string);
    await runStep(ctx, step, {
      onUploadPart: async (done) => {
        if (parts !== undefined && done >= parts) await reached();
      },
      onDownloadBytes: async (done) => {
        if (bytes !== undefined && done >= bytes) await reached();
      },
    });
    process.send?.({ error: "the step finished before the kill point" });
  })().catch((error: unknown) => {
    process.send?.({ error: String(error) });
  });
});

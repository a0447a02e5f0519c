/**
 * MiB/s of CRC64NVME over 256 MiB in 8 MiB buffers: @aws-sdk/crc64-nvme (the pure-JS
 * slicing-by-8 the AWS SDK uses without the CRT) against src/crc64nvme.ts.
 *
 *   node --import tsx bench/crc64.ts [MiB]
 */
import { randomFillSync } from "node:crypto";
import { Crc64Nvme as AwsCrc64Nvme } from "@aws-sdk/crc64-nvme";
import { Crc64Nvme } from "../src/crc64nvme.js";

const total = Number(process.argv[2] ?? 256) * 2 ** 20;
const buffers = Array.from({ length: 4 }, () => randomFillSync(Buffer.allocUnsafe(8 * 2 ** 20)));

async function measure(
  name: string,
  make: () => { update(d: Uint8Array): void; digest(): Promise<Uint8Array> },
) {
  const results: number[] = [];
  let value = "";
  for (let round = 0; round < 3; round++) {
    const crc = make();
    const started = performance.now();
    for (let done = 0, n = 0; done < total; done += 8 * 2 ** 20, n++) {
      crc.update(buffers[n % buffers.length] as Buffer);
    }
    value = Buffer.from(await crc.digest()).toString("base64");
    results.push(total / 2 ** 20 / ((performance.now() - started) / 1000));
  }
  const shown = results.map((r) => r.toFixed(0)).join(", ");
  console.log(`${name}: ${shown} MiB/s (3 rounds of ${total / 2 ** 20} MiB), ${value}`);
}

await measure("@aws-sdk/crc64-nvme", () => new AwsCrc64Nvme());
await measure("src/crc64nvme.ts", () => new Crc64Nvme());

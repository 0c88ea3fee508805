import { createHash } from "node:crypto";

/** Short content hash of a rendered artifact: shown in previews and the manifest to tell versions apart. */
export function contentHash(text: string): string {
  return "sha256:" + createHash("sha256").update(text).digest("hex").slice(0, 16);
}

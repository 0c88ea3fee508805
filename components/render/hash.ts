import { createHash } from "node:crypto";

/**
 * Short content hash (`sha256:<16 hex>`) of a rendered artifact or a secret: shown in
 * previews and the manifest to tell versions apart; reveals nothing of random secrets.
 */
export function contentHash(content: string | Buffer): string {
  return "sha256:" + createHash("sha256").update(content).digest("hex").slice(0, 16);
}

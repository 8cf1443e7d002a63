/**
 * Private storage of the serializer registry. It has no imports so that codec modules which
 * register themselves while `serializer.ts` is still being evaluated (an import cycle) find
 * the storage already initialised.
 *
 * @module
 */

import type { Serializer } from "../serializer.ts";

/** Registered serializers by id. */
export const byId: Map<number, Serializer> = new Map();
/** Registered serializers by name. */
export const byName: Map<string, Serializer> = new Map();

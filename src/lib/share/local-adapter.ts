/**
 * Sharing a chat whose adapter exists only in this browser: a link can carry only a reference to
 * a published copy (`hf:owner/name@<commit>`), so the share flow offers to publish it, to use a
 * copy published earlier, or to share the base model alone — never silently dropping it.
 */
import type { Adapter, PublishedCopy } from '../data/types';
import { formatAdapterRef, parseAdapterRef } from './sources';

/** The reference a link carries for a published copy, pinned to its commit. */
export function publishedRef(copy: Pick<PublishedCopy, 'repo' | 'revision'>): string {
	return formatAdapterRef({ kind: 'hub', repo: copy.repo, revision: copy.revision });
}

/** Published copies, newest first. */
export function publishedCopies(adapter: Pick<Adapter, 'published'> | undefined): PublishedCopy[] {
	return [...(adapter?.published ?? [])].reverse();
}

/** What a share link says about the chat's adapter: a reference (or none), or a local adapter to decide about. */
export type ShareAdapter =
	{ kind: 'ref'; ref: string | null } | { kind: 'local'; adapter: { id: string; name: string } };

/**
 * The chat's applied adapter as a share sees it: the copy a link brought in, or one imported from
 * a hub reference (its name is that reference), travels by its reference; any other applied adapter
 * exists only here and must be decided about. With no adapter applied, the link's own reference.
 */
export function shareAdapterOf(
	applied: { id: string; name: string } | undefined | null,
	adapterRef: string | null
): ShareAdapter {
	if (!applied || applied.name === adapterRef) return { kind: 'ref', ref: adapterRef };
	try {
		return { kind: 'ref', ref: formatAdapterRef(parseAdapterRef('adapter', applied.name)) };
	} catch {
		return { kind: 'local', adapter: applied };
	}
}

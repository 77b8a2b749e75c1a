/**
 * Sharing a chat whose adapter exists only in this browser: a link can carry only a reference to
 * a published copy (`hf:owner/name@<commit>`), so the share flow offers to publish it, to use a
 * copy published earlier, or to share the base model alone — never silently dropping it.
 */
import type { Adapter, PublishedCopy } from '../data/types';
import { formatAdapterRef } from './sources';

/** The reference a link carries for a published copy, pinned to its commit. */
export function publishedRef(copy: Pick<PublishedCopy, 'repo' | 'revision'>): string {
	return formatAdapterRef({ kind: 'hub', repo: copy.repo, revision: copy.revision });
}

/** Published copies, newest first. */
export function publishedCopies(adapter: Pick<Adapter, 'published'> | undefined): PublishedCopy[] {
	return [...(adapter?.published ?? [])].reverse();
}

/**
 * The adapter a share must decide about: the chat's applied adapter when it is a local one (not
 * the copy a link already brought in, which is named by its reference), else null.
 */
export function localAdapterToShare(
	applied: { id: string; name: string } | undefined | null,
	adapterRef: string | null
): { id: string; name: string } | null {
	if (!applied) return null;
	return applied.name === adapterRef ? null : applied;
}

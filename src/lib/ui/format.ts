/** Human-readable byte sizes (binary units, as browsers and GPUs count them). */
export function formatBytes(n: number | null | undefined): string {
	if (n === null || n === undefined || !Number.isFinite(n)) return '—';
	const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
	let i = 0;
	let v = n;
	while (v >= 1024 && i < units.length - 1) {
		v /= 1024;
		i++;
	}
	return `${v >= 100 || i === 0 ? v.toFixed(0) : v.toFixed(1)} ${units[i]}`;
}

/** A duration for people: "42 s", "3 min 7 s"; "—" when unknown. */
export function formatSeconds(s: number | null | undefined): string {
	if (s === null || s === undefined || !Number.isFinite(s)) return '—';
	return s < 60 ? `${s.toFixed(0)} s` : `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
}

/**
 * A small, safe Markdown renderer for model output and user text. Safety comes first: the input is
 * HTML-escaped BEFORE any Markdown is recognised, so no tag, attribute or entity from the text ever
 * reaches the DOM as markup. Only the few constructs below produce HTML, built here from escaped text:
 * paragraphs, line breaks, **bold**, *italic*, `code`, fenced code blocks, headings (#–###),
 * bullet and numbered lists, and links to http(s) URLs only.
 */

export function escapeHtml(text: string): string {
	return text
		.replaceAll('&', '&amp;')
		.replaceAll('<', '&lt;')
		.replaceAll('>', '&gt;')
		.replaceAll('"', '&quot;')
		.replaceAll("'", '&#39;');
}

/** Inline constructs over ALREADY-ESCAPED text. */
function inline(escaped: string): string {
	const codes: string[] = [];
	let s = escaped.replace(/`([^`\n]+)`/g, (_, c: string) => {
		codes.push(`<code>${c}</code>`);
		return `\u0000${codes.length - 1}\u0000`;
	});
	s = s
		.replace(/\*\*([^*\n]+)\*\*/g, '<strong>$1</strong>')
		.replace(/(^|[^*])\*([^*\n]+)\*(?!\*)/g, '$1<em>$2</em>')
		// [text](https://…) — the URL is escaped text; quotes are already &quot; so it cannot break out
		.replace(
			/\[([^\]\n]+)\]\((https?:\/\/[^\s)]+)\)/g,
			'<a href="$2" rel="noopener noreferrer nofollow" target="_blank">$1</a>'
		);
	return s.replace(/\u0000(\d+)\u0000/g, (_, i: string) => codes[Number(i)]);
}

export function renderMarkdown(text: string): string {
	const lines = escapeHtml(text.replace(/\r\n?/g, '\n')).split('\n');
	const out: string[] = [];
	let para: string[] = [];
	let list: { tag: 'ul' | 'ol'; items: string[] } | null = null;
	const flushPara = () => {
		if (para.length) out.push(`<p>${para.map(inline).join('<br>')}</p>`);
		para = [];
	};
	const flushList = () => {
		if (list)
			out.push(
				`<${list.tag}>${list.items.map((i) => `<li>${inline(i)}</li>`).join('')}</${list.tag}>`
			);
		list = null;
	};
	for (let i = 0; i < lines.length; i++) {
		const line = lines[i];
		if (/^```/.test(line)) {
			flushPara();
			flushList();
			const code: string[] = [];
			while (++i < lines.length && !/^```/.test(lines[i])) code.push(lines[i]);
			out.push(`<pre><code>${code.join('\n')}</code></pre>`);
			continue;
		}
		const heading = /^(#{1,3})\s+(.*)$/.exec(line);
		const bullet = /^\s*[-*•]\s+(.*)$/.exec(line);
		const numbered = /^\s*\d+[.)]\s+(.*)$/.exec(line);
		if (heading) {
			flushPara();
			flushList();
			const level = heading[1].length + 2; // h3–h5 inside a message
			out.push(`<h${level}>${inline(heading[2])}</h${level}>`);
		} else if (bullet || numbered) {
			flushPara();
			const tag = bullet ? 'ul' : 'ol';
			if (list && list.tag !== tag) flushList();
			list ??= { tag, items: [] };
			list.items.push((bullet ?? numbered)![1]);
		} else if (line.trim() === '') {
			flushPara();
			flushList();
		} else {
			flushList();
			para.push(line);
		}
	}
	flushPara();
	flushList();
	return out.join('');
}

import { describe, expect, it } from 'vitest';
import { renderMarkdown } from '../../src/lib/ui/markdown';

describe('safe markdown', () => {
	it('renders the allowed constructs', () => {
		expect(renderMarkdown('**bold** and *it* and `x<y`')).toBe(
			'<p><strong>bold</strong> and <em>it</em> and <code>x&lt;y</code></p>'
		);
		expect(renderMarkdown('- a\n- b\n\n1. one')).toBe(
			'<ul><li>a</li><li>b</li></ul><ol><li>one</li></ol>'
		);
		expect(renderMarkdown('```\n<b>\n```')).toBe('<pre><code>&lt;b&gt;</code></pre>');
		expect(renderMarkdown('知とは何かね？\n君はどう思う。')).toBe(
			'<p>知とは何かね？<br>君はどう思う。</p>'
		);
	});

	const payloads = [
		'<script>alert(1)</script>',
		'<img src=x onerror=alert(1)>',
		'<svg/onload=alert(1)>',
		'[click](javascript:alert(1))',
		'[x](https://a.example/"onmouseover="alert(1))',
		'<a href="javascript:alert(1)">x</a>',
		'&lt;script&gt;'
	];
	for (const p of payloads) {
		it(`keeps ${JSON.stringify(p)} inert`, () => {
			const html = renderMarkdown(p);
			expect(html).not.toMatch(/<(script|img|svg|iframe)/i);
			expect(html).not.toMatch(/href="javascript:/i);
			expect(html).not.toMatch(/\son\w+="/i);
		});
	}
});

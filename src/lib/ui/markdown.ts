/**
 * Markdown for model output and user text, by the maintained `markdown-it` parser in its safe setup:
 * `html: false` (every tag, attribute and entity in the text is escaped, never markup) and a link
 * check that lets only http(s) and mailto URLs through (`javascript:`, `data:`, `vbscript:` and
 * relative URLs stay text). Links open in a new tab with no referrer and no opener; images are turned
 * off (a model's reply never makes the browser fetch anything). Headings render two levels down
 * (h3–h6) inside a message; single newlines are line breaks, as people type in a chat.
 */
import MarkdownIt from 'markdown-it';

const SAFE_LINK = /^(https?:|mailto:)/i;

const md = new MarkdownIt('commonmark', {
	html: false,
	xhtmlOut: false,
	breaks: true,
	linkify: false
}).disable(['image']);
md.validateLink = (url) => SAFE_LINK.test(url.trim());

const renderToken = md.renderer.renderToken.bind(md.renderer);
md.renderer.rules.link_open = (tokens, i, options) => {
	tokens[i].attrSet('rel', 'noopener noreferrer nofollow');
	tokens[i].attrSet('target', '_blank');
	return renderToken(tokens, i, options);
};
for (const rule of ['heading_open', 'heading_close'] as const)
	md.renderer.rules[rule] = (tokens, i, options) => {
		const level = Math.min(6, Number(tokens[i].tag.slice(1)) + 2);
		tokens[i].tag = `h${level}`;
		return renderToken(tokens, i, options);
	};

/** Safe HTML for a message: no markup from the text itself, only what Markdown means. */
export function renderMarkdown(text: string): string {
	return md.render(text);
}

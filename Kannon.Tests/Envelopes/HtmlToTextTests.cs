using Kannon.Envelopes;

namespace Kannon.Tests.Envelopes;

public sealed class HtmlToTextTests
{
    [Fact]
    public void Markup_scripts_styles_and_head_are_dropped()
    {
        const string html = """
            <!DOCTYPE html><html><head><title>T</title><style>p { color: red }</style></head>
            <body><script>var x = "<p>";</script><!-- hidden --><p>Hello <b>world</b></p></body></html>
            """;

        HtmlToText.Convert(html).Should().Be("Hello world");
    }

    [Fact]
    public void Entities_are_decoded_and_whitespace_collapses()
    {
        HtmlToText.Convert("<p>Tom &amp; Jerry&nbsp;&lt;3   \n\t caf&eacute; &#8364;5</p>").Should().Be("Tom & Jerry <3 café €5");
    }

    [Fact]
    public void Blocks_and_breaks_become_lines()
    {
        HtmlToText.Convert("<h1>Title</h1><p>One<br>Two</p><ul><li>a</li><li>b</li></ul><p>End</p>")
            .Should().Be("Title\n\nOne\nTwo\n\n- a\n- b\n\nEnd");
    }

    [Fact]
    public void Links_keep_their_url_after_the_text()
    {
        HtmlToText.Convert("""<p>Read <a href="https://example.com/a?x=1&amp;y=2">the story</a>.</p>""")
            .Should().Be("Read the story (https://example.com/a?x=1&y=2).");
    }

    [Fact]
    public void A_link_whose_text_is_its_url_is_not_repeated()
    {
        HtmlToText.Convert("""<a href="https://example.com/">https://example.com/</a>""").Should().Be("https://example.com/");
    }

    [Fact]
    public void Mailto_links_show_the_address_and_anchors_show_nothing_more()
    {
        HtmlToText.Convert("""<a href="mailto:help@example.com">Write us</a> <a href="#top">Top</a>""")
            .Should().Be("Write us (help@example.com) Top");
    }
}

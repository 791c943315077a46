using Kannon.Envelopes;

namespace Kannon.Tests.Envelopes;

public sealed class HtmlTrackingTests
{
    private static string Track(string html) => HtmlTracking.RewriteLinks(html, (url, output) => output.Append($"T[{url}]"));

    [Theory]
    [InlineData("""<a href="https://example.com/x">x</a>""", """<a href="T[https://example.com/x]">x</a>""")]
    [InlineData("""<a href='http://example.com/x'>x</a>""", """<a href='T[http://example.com/x]'>x</a>""")]
    [InlineData("""<A HREF="HTTPS://EXAMPLE.COM/">x</A>""", """<A HREF="T[HTTPS://EXAMPLE.COM/]">x</A>""")]
    [InlineData("""<a class="btn" title="a > b" href = "https://example.com/">x</a>""", """<a class="btn" title="a > b" href = "T[https://example.com/]">x</a>""")]
    [InlineData("""<a href=https://example.com/u>x</a>""", """<a href="T[https://example.com/u]">x</a>""")]
    [InlineData("<a\n  href=\"https://example.com/\"\n>x</a>", "<a\n  href=\"T[https://example.com/]\"\n>x</a>")]
    public void Every_http_link_in_an_anchor_is_rewritten_whatever_its_case_and_quotes(string html, string expected)
    {
        Track(html).Should().Be(expected);
    }

    [Fact]
    public void The_token_carries_the_url_with_html_entities_decoded()
    {
        Track("""<a href="https://example.com/?a=1&amp;b=2">x</a>""").Should().Be("""<a href="T[https://example.com/?a=1&b=2]">x</a>""");
    }

    [Theory]
    [InlineData("""<a href="mailto:ann@example.com">mail</a>""")]
    [InlineData("""<a href="tel:+391234">call</a>""")]
    [InlineData("""<a href="sms:+391234">text</a>""")]
    [InlineData("""<a href="#top">top</a>""")]
    [InlineData("""<a href="">empty</a>""")]
    [InlineData("""<a href="/relative/path">relative</a>""")]
    [InlineData("""<a href="javascript:alert(1)">js</a>""")]
    [InlineData("""<a name="anchor">no href</a>""")]
    [InlineData("""<abbr title="https://example.com/">abbr</abbr>""")]
    [InlineData("""<link href="https://example.com/style.css">""")]
    public void Non_http_links_and_other_tags_are_left_alone(string html)
    {
        Track(html).Should().Be(html);
    }

    [Fact]
    public void An_img_src_equal_to_a_link_url_is_not_rewritten_issue_276()
    {
        const string html = """<img src="https://example.com/a.png"><a href="https://example.com/a.png">full size</a><img src="https://example.com/a.png">""";

        Track(html).Should().Be("""<img src="https://example.com/a.png"><a href="T[https://example.com/a.png]">full size</a><img src="https://example.com/a.png">""");
    }

    [Fact]
    public void Only_the_href_attribute_is_rewritten_not_other_attributes_with_the_same_url()
    {
        Track("""<a data-url="https://example.com/" href="https://example.com/">x</a>""")
            .Should().Be("""<a data-url="https://example.com/" href="T[https://example.com/]">x</a>""");
    }

    [Fact]
    public void The_same_url_twice_gets_two_rewrites_by_position()
    {
        Track("""<a href="https://example.com/">1</a> https://example.com/ <a href="https://example.com/">2</a>""")
            .Should().Be("""<a href="T[https://example.com/]">1</a> https://example.com/ <a href="T[https://example.com/]">2</a>""");
    }

    [Theory]
    [InlineData("""<a href="https://example.com/" data-no-track>x</a>""", """<a href="https://example.com/">x</a>""")]
    [InlineData("""<a data-no-track="true" href="https://example.com/">x</a>""", """<a href="https://example.com/">x</a>""")]
    [InlineData("""<a DATA-NO-TRACK href='https://example.com/'>x</a>""", """<a href='https://example.com/'>x</a>""")]
    public void A_link_with_data_no_track_is_skipped_and_loses_the_attribute(string html, string expected)
    {
        Track(html).Should().Be(expected);
    }

    [Fact]
    public void Data_no_track_is_stripped_even_when_links_are_not_tracked()
    {
        HtmlTracking.RewriteLinks("""<a href="https://example.com/" data-no-track>x</a> <a href="https://example.com/">y</a>""", null)
            .Should().Be("""<a href="https://example.com/">x</a> <a href="https://example.com/">y</a>""");
    }

    [Theory]
    [InlineData("<html><body><p>x</p></body></html>", "<html><body><p>x</p>PIXEL</body></html>")]
    [InlineData("<BODY>x</BODY >", "<BODY>xPIXEL</BODY >")]
    [InlineData("<body>x</body>\n<!-- </body> -->\n</body>", "<body>x</body>\n<!-- </body> -->\nPIXEL</body>")]
    [InlineData("<p>no body end</p>", "<p>no body end</p>PIXEL")]
    public void The_open_pixel_goes_before_the_last_body_end_or_at_the_end(string html, string expected)
    {
        const string pixel = """<img src="https://stats.example.com/o/TOKEN" width="1" height="1" alt="" style="display:none" />""";

        HtmlTracking.InsertOpenPixel(html, "https://stats.example.com/o/TOKEN").Should().Be(expected.Replace("PIXEL", pixel));
    }

    [Theory]
    [InlineData("""<html><body><a href="https://example.com/a">a</a><p>x</p></body></html>""")]
    [InlineData("""<body><p>no links</p></BODY ></html>""")]
    [InlineData("""<p><a href="https://example.com/a">a</a> no body end</p>""")]
    [InlineData("""<body><a href="https://example.com/a">a</a></body><a href="https://example.com/after">after</a>""")]
    [InlineData("""<body><a title="</body>" href="https://example.com/in-attribute">a</a></html>""")]
    [InlineData("""<body><a data-no-track href="https://example.com/kept">k</a></body>""")]
    [InlineData("""<body><a href="mailto:a@example.com">m</a></body>""")]
    public void The_pixel_inserted_in_the_same_pass_lands_where_the_two_step_path_puts_it(string html)
    {
        const string pixel = "https://track.example/o/token";
        var twoSteps = HtmlTracking.InsertOpenPixel(Track(html), pixel);

        HtmlTracking.RewriteLinks(html, (url, output) => output.Append($"T[{url}]"), pixel).Should().Be(twoSteps);
        HtmlTracking.RewriteLinks(html, null, pixel).Should().Be(HtmlTracking.InsertOpenPixel(HtmlTracking.RewriteLinks(html, null), pixel));
    }
}

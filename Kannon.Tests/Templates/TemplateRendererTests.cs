using Kannon.Templates;

namespace Kannon.Tests.Templates;

public sealed class TemplateRendererTests
{
    private readonly TemplateRenderer _renderer = new();

    private string Html(string source, string recipient = "ann@example.com", Dictionary<string, string>? fields = null) =>
        _renderer.RenderHtml("template_t@example.com", source, recipient, fields ?? []);

    private string Subject(string source, string recipient = "ann@example.com", Dictionary<string, string>? fields = null) =>
        _renderer.RenderSubject("msg_t@example.com", source, recipient, fields ?? []);

    [Fact]
    public void Fields_render_per_recipient_in_subject_and_html()
    {
        const string subject = "Hi {{ name }}";
        const string html = "<p>Dear {{ name }}, {{city}}</p>";

        Subject(subject, fields: new() { ["name"] = "Ann" }).Should().Be("Hi Ann");
        Subject(subject, fields: new() { ["name"] = "Bob" }).Should().Be("Hi Bob");
        Html(html, fields: new() { ["name"] = "Ann", ["city"] = "Torino" }).Should().Be("<p>Dear Ann, Torino</p>");
        Html(html, fields: new() { ["name"] = "Bob", ["city"] = "Milano" }).Should().Be("<p>Dear Bob, Milano</p>");
    }

    [Fact]
    public void Html_values_are_encoded_unless_the_template_says_raw()
    {
        var fields = new Dictionary<string, string> { ["name"] = "<b>Tom & \"Jerry\"</b>" };

        Html("{{ name }}", fields: fields).Should().Be("&lt;b&gt;Tom &amp; &quot;Jerry&quot;&lt;/b&gt;");
        Html("{{ name | raw }}", fields: fields).Should().Be("<b>Tom & \"Jerry\"</b>");
    }

    [Fact]
    public void Non_ascii_values_are_not_turned_into_entities()
    {
        Html("{{ name }}", fields: new() { ["name"] = "José Müller" }).Should().Be("José Müller");
    }

    [Fact]
    public void Subject_values_are_not_html_encoded()
    {
        Subject("{{ name }} & co", fields: new() { ["name"] = "<Tom & Jerry>" }).Should().Be("<Tom & Jerry> & co");
    }

    [Fact]
    public void Email_is_the_recipient_unless_a_field_named_email_exists()
    {
        Html("to {{ email }}", recipient: "ann@example.com").Should().Be("to ann@example.com");
        Subject("to {{ email }}", recipient: "ann@example.com", fields: new() { ["email"] = "other@example.com" })
            .Should().Be("to other@example.com");
    }

    [Theory]
    [InlineData("{{first-name}}")]
    [InlineData("{{ first-name }}")]
    [InlineData("{{   first-name  }}")]
    public void Original_placeholders_with_any_spacing_and_dashes_render(string placeholder)
    {
        Html($"<p>{placeholder}</p>", fields: new() { ["first-name"] = "Ann" }).Should().Be("<p>Ann</p>");
    }

    [Theory]
    [InlineData("user.name")]
    [InlineData("a@b")]
    [InlineData("prénom")]
    [InlineData("5")]
    [InlineData("x:y,z")]
    public void Keys_that_are_not_liquid_identifiers_still_name_fields(string key)
    {
        Html($"<p>{{{{ {key} }}}}</p>", fields: new() { [key] = "v<1>" }).Should().Be("<p>v&lt;1&gt;</p>");
        Subject($"{{{{{key}}}}}!", fields: new() { [key] = "v" }).Should().Be("v!");
    }

    [Fact]
    public void An_unknown_placeholder_stays_verbatim_as_in_the_original()
    {
        Html("<p>{{  missing }} {{ user.name }} {{a@b}}</p>").Should().Be("<p>{{  missing }} {{ user.name }} {{a@b}}</p>");
    }

    [Fact]
    public void Liquid_expressions_see_the_fields_and_render_unknowns_empty()
    {
        const string source = "{% if vip == 'yes' %}VIP {% endif %}{{ name | upcase }}[{{ nobody | upcase }}]";

        Html(source, fields: new() { ["vip"] = "yes", ["name"] = "ann" }).Should().Be("VIP ANN[]");
        Html(source, fields: new() { ["vip"] = "no", ["name"] = "bob" }).Should().Be("BOB[]");
    }

    [Fact]
    public void Liquid_variables_still_render_through_bare_placeholders()
    {
        Html("{% assign greeting = 'Ciao' %}{{ greeting }}{% for i in (1..3) %} {{ forloop.index }}{% endfor %}")
            .Should().Be("Ciao 1 2 3");
    }

    [Fact]
    public void Raw_blocks_keep_placeholders_as_text()
    {
        Html("{% raw %}{{ name }}{% endraw %} {{ name }}", fields: new() { ["name"] = "Ann" }).Should().Be("{{ name }} Ann");
    }

    [Fact]
    public void Dollar_signs_in_values_are_literal()
    {
        Html("{{ price }}", fields: new() { ["price"] = "$1 ${x} $$" }).Should().Be("$1 ${x} $$");
    }

    [Fact]
    public void An_edited_template_with_the_same_id_renders_the_new_content()
    {
        Html("A {{ name }}", fields: new() { ["name"] = "x" }).Should().Be("A x");
        Html("B {{ name }}", fields: new() { ["name"] = "x" }).Should().Be("B x");
    }

    [Fact]
    public void Try_parse_accepts_original_templates_and_reports_liquid_errors()
    {
        TemplateRenderer.TryParse("<p>{{ first-name }} {{ a@b }} {{ x }}</p>", out var none).Should().BeTrue();
        none.Should().BeEmpty();

        TemplateRenderer.TryParse("<p>{% if x %}{{ name }}</p>", out var error).Should().BeFalse();
        error.Should().NotBeEmpty().And.NotContain("__kannon_slot");
    }

    [Fact]
    public void Rendering_a_broken_template_throws_a_template_exception()
    {
        var render = () => Html("{% for %}");

        render.Should().Throw<TemplateException>().Which.TemplateId.Should().Be("template_t@example.com");
    }

    [Fact]
    public void A_filter_that_fails_while_rendering_throws_a_template_exception()
    {
        var render = () => Html("{{ 10 | divided_by: 0 }}");

        render.Should().Throw<TemplateException>();
    }

    [Fact]
    public void A_runaway_loop_fails_instead_of_holding_the_dispatcher()
    {
        var render = () => Html("{% for i in (1..100000000) %}x{% endfor %}");

        render.Should().Throw<TemplateException>();
    }
}

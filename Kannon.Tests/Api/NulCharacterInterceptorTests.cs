using FluentAssertions;
using Kannon.Api;
using Kannon.Protos.Mailer.ApiV1;
using Kannon.Protos.Mailer.Types;
using Xunit;

namespace Kannon.Tests.Api;

public sealed class NulCharacterInterceptorTests
{
    [Fact]
    public void A_request_without_a_NUL_passes()
    {
        NulCharacterInterceptor.FindNul(Request()).Should().BeNull();
    }

    [Theory]
    [InlineData("email", "recipients[1].email")]
    [InlineData("field value", "recipients[1].fields[\"name\"]")]
    [InlineData("field key", "recipients[1].fields (a key)")]
    [InlineData("global field", "global_fields[\"g\"]")]
    [InlineData("header", "headers.to[0]")]
    [InlineData("sender", "sender.alias")]
    public void The_first_NUL_is_named_by_its_path(string where, string path)
    {
        var request = Request();
        switch (where)
        {
            case "email": request.Recipients[1].Email = "b\0@example.org"; break;
            case "field value": request.Recipients[1].Fields["name"] = "B\0"; break;
            case "field key": request.Recipients[1].Fields["n\0"] = "B"; break;
            case "global field": request.GlobalFields["g"] = "\0"; break;
            case "header": request.Headers = new Headers { To = { "a\0@example.org" } }; break;
            case "sender": request.Sender.Alias = "News\0"; break;
        }

        NulCharacterInterceptor.FindNul(request).Should().Be(path);
    }

    [Fact]
    public void Bytes_may_hold_zeros()
    {
        var request = Request();
        request.Attachments.Add(new Attachment { Filename = "a.bin", Content = Google.Protobuf.ByteString.CopyFrom(0, 0, 1) });

        NulCharacterInterceptor.FindNul(request).Should().BeNull();
    }

    private static SendHTMLReq Request() => new()
    {
        Sender = new Kannon.Protos.Mailer.Types.Sender { Email = "news@example.org", Alias = "News" },
        Subject = "Hello",
        Html = "<p>hi</p>",
        GlobalFields = { ["g"] = "x" },
        Recipients =
        {
            new Recipient { Email = "a@example.org", Fields = { ["name"] = "A" } },
            new Recipient { Email = "b@example.org", Fields = { ["name"] = "B" } },
        },
    };
}

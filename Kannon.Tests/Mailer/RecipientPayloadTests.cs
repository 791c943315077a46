using FluentAssertions;
using Google.Protobuf;
using Kannon.Mailer;
using Kannon.Protos.Mailer.ApiV1;
using Kannon.Protos.Mailer.Types;
using Xunit;

namespace Kannon.Tests.Mailer;

/// <summary>
/// The SendHTML/SendTemplate decoder that keeps recipients encoded (ADR 0022) must read every request exactly as
/// protobuf's own parser reads the whole of it, and refuse every request protobuf refuses.
/// </summary>
public sealed class RecipientPayloadTests
{
    [Fact]
    public void A_request_reads_as_protobuf_reads_it_whole()
    {
        var request = Request(new Random(1), recipients: 50);
        var bytes = request.ToByteArray();

        Decoded(bytes).Should().Be(SendHTMLReq.Parser.ParseFrom(bytes));
    }

    [Fact]
    public void Recipients_interleaved_with_other_fields_and_repeated_scalars_read_as_protobuf_reads_them()
    {
        // Protobuf writes fields in order; other encoders may not. Last scalar wins, messages merge, repeated fields append.
        var parts = new List<byte[]>();
        var random = new Random(2);
        for (var i = 0; i < 20; i++)
        {
            parts.Add(Request(random, recipients: random.Next(0, 3)).ToByteArray());
        }

        var bytes = parts.SelectMany(p => p).ToArray();

        Decoded(bytes).Should().Be(SendHTMLReq.Parser.ParseFrom(bytes));
    }

    [Fact]
    public void Unknown_fields_and_field_6_of_another_wire_type_read_as_protobuf_reads_them()
    {
        using var stream = new MemoryStream();
        var output = new CodedOutputStream(stream);
        output.WriteTag(6, WireFormat.WireType.Varint);      // field 6 as a varint: unknown to the schema
        output.WriteUInt64(7);
        output.WriteTag(99, WireFormat.WireType.LengthDelimited);
        output.WriteBytes(ByteString.CopyFromUtf8("unknown"));
        output.WriteTag(6, WireFormat.WireType.LengthDelimited);
        var recipient = new Recipient { Email = "a@example.org", Fields = { ["k"] = "v" } }.ToByteArray();
        var withUnknown = recipient.Concat(new byte[] { (15 << 3) | 0, 1 }).ToArray();   // field 15 varint inside the recipient
        output.WriteBytes(ByteString.CopyFrom(withUnknown));
        output.Flush();
        var bytes = stream.ToArray();

        Decoded(bytes).Should().Be(SendHTMLReq.Parser.ParseFrom(bytes));
    }

    [Fact]
    public void Mutated_requests_are_refused_exactly_when_protobuf_refuses_them_and_read_alike_otherwise()
    {
        var random = new Random(3);
        var refused = 0;
        for (var n = 0; n < 3_000; n++)
        {
            var bytes = Request(random, recipients: random.Next(1, 6)).ToByteArray();
            switch (random.Next(3))
            {
                case 0:
                    bytes = bytes[..random.Next(bytes.Length)];
                    break;
                case 1:
                    for (var flips = random.Next(1, 4); flips > 0; flips--)
                    {
                        bytes[random.Next(bytes.Length)] = (byte)random.Next(256);
                    }

                    break;
                default:
                    bytes[random.Next(bytes.Length)] ^= (byte)(1 << random.Next(8));
                    break;
            }

            SendHTMLReq? expected;
            try
            {
                expected = SendHTMLReq.Parser.ParseFrom(bytes);
            }
            catch (InvalidProtocolBufferException)
            {
                expected = null;
            }

            SendHTMLReq? actual;
            try
            {
                actual = Decoded(bytes);
            }
            catch (InvalidProtocolBufferException)
            {
                actual = null;
            }

            SendHTMLReq? inLargerBuffer;
            try
            {
                inLargerBuffer = Decoded(bytes, trailing: random.Next(1, 64), random);
            }
            catch (InvalidProtocolBufferException)
            {
                inLargerBuffer = null;
            }

            inLargerBuffer.Should().Be(actual, $"only the request's own bytes of a larger buffer are read (mutation {n})");

            if (expected is null)
            {
                refused++;
                actual.Should().BeNull($"protobuf refuses mutation {n}");
            }
            else
            {
                actual.Should().Be(expected, $"protobuf reads mutation {n}");
            }
        }

        refused.Should().BeGreaterThan(100, "the mutations include malformed requests");
    }

    [Fact]
    public void A_recipient_cut_short_inside_is_refused_when_it_is_read()
    {
        var request = new SendHTMLReq { Recipients = { new Recipient { Email = "ann@example.org" } } };
        byte[] broken = [(6 << 3) | 2, 3, (1 << 3) | 2, 5, (byte)'a'];
        var payload = Payload(request.ToByteArray().Concat(broken).ToArray());

        payload.Count.Should().Be(2);
        var read = () => payload.Read(1, new Recipient());
        read.Should().Throw<InvalidProtocolBufferException>();
    }

    [Fact]
    public void Whether_any_recipient_has_fields_is_seen_without_reading_them()
    {
        var without = new SendHTMLReq { Recipients = { new Recipient { Email = "a@example.org" }, new Recipient { Email = "b@example.org" } } };
        var with = new SendHTMLReq { Recipients = { new Recipient { Email = "a@example.org" }, new Recipient { Email = "b@example.org", Fields = { ["x"] = "" } } } };

        Payload(without.ToByteArray()).AnyFields().Should().BeFalse();
        Payload(with.ToByteArray()).AnyFields().Should().BeTrue();
        RecipientPayload.From(with.Recipients).AnyFields().Should().BeTrue();
    }

    [Fact]
    public void Recipients_built_in_process_read_back_as_they_were()
    {
        var request = Request(new Random(4), recipients: 10);
        var payload = RecipientPayload.From(request.Recipients);

        payload.Count.Should().Be(10);
        var recipient = new Recipient();
        for (var i = 0; i < payload.Count; i++)
        {
            payload.Read(i, recipient);
            recipient.Should().Be(request.Recipients[i]);
        }
    }

    [Fact]
    public void A_kept_request_buffer_serves_the_next_call_with_nothing_of_the_one_before()
    {
        // Large enough for the large-object heap, so the decoder's buffer is kept between calls; the second is shorter.
        var random = new Random(5);
        var first = Request(random, recipients: 6_000).ToByteArray();
        var second = Request(random, recipients: 4_000).ToByteArray();
        first.Length.Should().BeGreaterThan(second.Length).And.BeGreaterThan(RequestBuffer.KeptFrom);
        second.Length.Should().BeGreaterThan(RequestBuffer.KeptFrom);

        var firstRequest = DecodedRented(first, out var firstPayload);
        firstRequest.Should().Be(SendHTMLReq.Parser.ParseFrom(first));
        firstPayload.Release();
        var secondRequest = DecodedRented(second, out var secondPayload);

        secondRequest.Should().Be(SendHTMLReq.Parser.ParseFrom(second));
        secondPayload.Release();
    }

    [Fact]
    public void Released_recipients_cannot_be_read_and_a_second_release_does_nothing()
    {
        var bytes = Request(new Random(6), recipients: 3_000).ToByteArray();
        DecodedRented(bytes, out var payload);

        payload.Release();
        payload.Release();

        var read = () => payload.Read(0, new Recipient());
        var anyFields = () => payload.AnyFields();
        read.Should().Throw<InvalidOperationException>();
        anyFields.Should().Throw<InvalidOperationException>();
    }

    [Fact]
    public void Releasing_recipients_not_from_the_decoder_leaves_them_readable()
    {
        var request = Request(new Random(7), recipients: 3);
        var payload = RecipientPayload.From(request.Recipients);

        payload.Release();
        RecipientPayload.Empty.Release();

        var recipient = new Recipient();
        payload.Read(2, recipient);
        recipient.Should().Be(request.Recipients[2]);
        RecipientPayload.Empty.AnyFields().Should().BeFalse();
    }

    /// <summary>Decoded as the API decodes it: into a buffer from <see cref="RequestBuffer"/>, possibly longer and holding an earlier call's bytes.</summary>
    private static SendHTMLReq DecodedRented(byte[] bytes, out RecipientPayload payload)
    {
        var buffer = RequestBuffer.Rent(bytes.Length);
        bytes.CopyTo(buffer, 0);
        var request = RecipientPayloadDecoder.Decode(SendHTMLReq.Parser, buffer, bytes.Length, rented: true);
        payload = RecipientPayloadExtensions.RecipientsOf(request, request.Recipients);
        return WithRecipientsRead(request);
    }

    /// <summary>Decoded from the start of a buffer <paramref name="trailing"/> bytes longer than the request, the rest random.</summary>
    private static SendHTMLReq Decoded(byte[] bytes, int trailing, Random random)
    {
        var buffer = new byte[bytes.Length + trailing];
        random.NextBytes(buffer);
        bytes.CopyTo(buffer, 0);
        return WithRecipientsRead(RecipientPayloadDecoder.Decode(SendHTMLReq.Parser, buffer, bytes.Length, rented: false));
    }

    /// <summary>The head parsed by protobuf, the recipients read one by one and put back: the whole request as our decoder sees it.</summary>
    private static SendHTMLReq Decoded(byte[] bytes) => WithRecipientsRead(RecipientPayloadDecoder.Decode(SendHTMLReq.Parser, bytes));

    private static SendHTMLReq WithRecipientsRead(SendHTMLReq request)
    {
        request.Recipients.Should().BeEmpty("recipients stay encoded");
        var payload = RecipientPayloadExtensions.RecipientsOf(request, request.Recipients);
        for (var i = 0; i < payload.Count; i++)
        {
            var recipient = new Recipient();
            payload.Read(i, recipient);
            request.Recipients.Add(recipient);
        }

        return request;
    }

    private static RecipientPayload Payload(byte[] bytes) => RecipientPayload.Split(bytes, bytes.Length).Recipients;

    private static SendHTMLReq Request(Random random, int recipients)
    {
        var request = new SendHTMLReq
        {
            Sender = new Kannon.Protos.Mailer.Types.Sender { Email = $"s{random.Next(10)}@example.org", Alias = random.Next(2) == 0 ? "" : "News" },
            Subject = $"Hello {random.Next(100)}",
            Html = $"<p>{new string('x', random.Next(0, 40))}</p>",
            GlobalFields = { ["g"] = random.Next(5).ToString(System.Globalization.CultureInfo.InvariantCulture) },
        };
        for (var i = 0; i < recipients; i++)
        {
            var recipient = new Recipient { Email = $"r{random.Next(1000)}@example.org" };
            for (var f = random.Next(0, 3); f > 0; f--)
            {
                recipient.Fields[$"k{random.Next(3)}"] = new string('é', random.Next(0, 5));
            }

            request.Recipients.Add(recipient);
        }

        if (random.Next(3) == 0)
        {
            request.Headers = new Headers { To = { "to@example.org" } };
        }

        return request;
    }
}

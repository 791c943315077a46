using MimeKit.Cryptography;
using Org.BouncyCastle.Crypto;
using Org.BouncyCastle.Security;

namespace Kannon.Tests.EndToEnd;

/// <summary>What a receiver's DNS would answer for <c>kannon._domainkey.&lt;domain&gt;</c>: the key the Admin API returned.</summary>
internal sealed class DnsKeyLocator(string domain, string publicKeyBase64) : IDkimPublicKeyLocator
{
    private readonly AsymmetricKeyParameter _key = PublicKeyFactory.CreateKey(Convert.FromBase64String(publicKeyBase64));

    public AsymmetricKeyParameter LocatePublicKey(string methods, string domain1, string selector, CancellationToken cancellationToken = default) =>
        domain1 == domain && selector == "kannon" ? _key : throw new InvalidOperationException($"no TXT record at {selector}._domainkey.{domain1}");

    public Task<AsymmetricKeyParameter> LocatePublicKeyAsync(string methods, string domain1, string selector, CancellationToken cancellationToken = default) =>
        Task.FromResult(LocatePublicKey(methods, domain1, selector, cancellationToken));
}

using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using DnsClient;
using DnsClient.Protocol;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Kannon.Sender;

/// <summary>
/// MX lookups for recipient domains and address lookups for MX hosts, through <c>sender.dns_servers</c>
/// or the system's resolvers. Answers are cached for their TTL (bounded), and concurrent lookups of the
/// same name share one query.
/// </summary>
internal sealed partial class MxResolver
{
    /// <summary>The original tries at most five MX hosts per message.</summary>
    public const int MaxHosts = 5;

    private const int MaxCacheEntries = 10_000;
    private static readonly TimeSpan MinTtl = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan MaxTtl = TimeSpan.FromHours(1);
    private static readonly TimeSpan NegativeTtl = TimeSpan.FromMinutes(1);
    private static readonly TimeSpan FailureTtl = TimeSpan.FromSeconds(5);

    private readonly Lazy<LookupClient> _dns;
    private readonly TimeProvider _time;
    private readonly ILogger<MxResolver> _logger;
    private readonly ConcurrentDictionary<string, Cached<DomainAnswer>> _domains = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Cached<HostAnswer>> _hosts = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Task<DomainAnswer>> _domainLookups = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Task<HostAnswer>> _hostLookups = new(StringComparer.Ordinal);

    public MxResolver(IOptions<SenderOptions> options, TimeProvider time, ILogger<MxResolver> logger)
    {
        _time = time;
        _logger = logger;
        var servers = options.Value.DnsServers.Select(IPEndPoint.Parse).ToArray();
        // Built on first use: a demo Sender or a relay never needs the system's resolver configuration.
        _dns = new Lazy<LookupClient>(() =>
        {
            var lookup = servers.Length > 0 ? new LookupClientOptions(servers) : new LookupClientOptions();
            lookup.UseCache = false; // we cache whole answers, bounded
            lookup.Timeout = TimeSpan.FromSeconds(5);
            lookup.Retries = 2;
            lookup.ThrowDnsErrors = false;
            lookup.UseTcpFallback = true;
            return new LookupClient(lookup);
        });
    }

    /// <summary>IDNA ToASCII, lower case; null when the name is not a valid domain.</summary>
    public static string? ToAscii(string domain)
    {
        try
        {
            return new IdnMapping().GetAscii(domain.Trim().TrimEnd('.')).ToLowerInvariant();
        }
        catch (ArgumentException)
        {
            return null;
        }
    }

    /// <summary>The MX hosts of <paramref name="asciiDomain"/> by preference (equal preferences shuffled), at most <see cref="MaxHosts"/>.</summary>
    public async Task<MxRoute> ResolveAsync(string asciiDomain, CancellationToken cancellationToken)
    {
        var answer = await LookupAsync(_domains, _domainLookups, asciiDomain, LookupDomainAsync, cancellationToken).ConfigureAwait(false);
        if (answer.Failure is not null)
        {
            return MxRoute.Fails(answer.Failure);
        }

        return MxRoute.To(Shuffled(answer.Exchanges));
    }

    /// <summary>IPv4 then IPv6 addresses of a host; empty with a reason when it has none or DNS failed.</summary>
    public async Task<HostAnswer> ResolveHostAsync(string host, CancellationToken cancellationToken)
    {
        if (IPAddress.TryParse(host.Trim('[', ']'), out var literal))
        {
            return new HostAnswer([literal], null, MaxTtl);
        }

        return await LookupAsync(_hosts, _hostLookups, host.ToLowerInvariant(), LookupHostAsync, cancellationToken).ConfigureAwait(false);
    }

    private async Task<T> LookupAsync<T>(
        ConcurrentDictionary<string, Cached<T>> cache,
        ConcurrentDictionary<string, Task<T>> pending,
        string name,
        Func<string, Task<T>> lookup,
        CancellationToken cancellationToken)
        where T : ICacheable
    {
        var now = _time.GetUtcNow();
        if (cache.TryGetValue(name, out var hit) && hit.Expires > now)
        {
            return hit.Value;
        }

        // One query per name at a time; it is not tied to the first caller's cancellation.
        var task = pending.GetOrAdd(name, n => Task.Run(async () =>
        {
            try
            {
                var value = await lookup(n).ConfigureAwait(false);
                Store(cache, n, value);
                return value;
            }
            finally
            {
                pending.TryRemove(n, out _);
            }
        }, CancellationToken.None));
        return await task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    private void Store<T>(ConcurrentDictionary<string, Cached<T>> cache, string name, T value)
        where T : ICacheable
    {
        var now = _time.GetUtcNow();
        if (cache.Count >= MaxCacheEntries)
        {
            foreach (var (key, entry) in cache)
            {
                if (entry.Expires <= now)
                {
                    cache.TryRemove(key, out _);
                }
            }

            if (cache.Count >= MaxCacheEntries)
            {
                cache.Clear();
            }
        }

        var ttl = TimeSpan.FromTicks(Math.Clamp(value.Ttl.Ticks, MinTtl.Ticks, MaxTtl.Ticks));
        cache[name] = new Cached<T>(value, now + ttl);
    }

    private async Task<DomainAnswer> LookupDomainAsync(string domain)
    {
        var (response, error) = await QueryAsync(domain, QueryType.MX).ConfigureAwait(false);
        if (response is null || IsTransient(response))
        {
            var reason = error ?? response!.ErrorMessage;
            LogDnsFailure(_logger, domain, "MX", reason);
            return DomainAnswer.Fails(new SendOutcome.Retry(451, $"4.4.3 DNS lookup of MX for {domain} failed: {reason}"), FailureTtl);
        }

        if (response.Header.ResponseCode == DnsHeaderResponseCode.NotExistentDomain)
        {
            return DomainAnswer.Fails(SendOutcome.Bounce(550, $"5.1.2 recipient domain {domain} does not exist"), NegativeTtlOf(response));
        }

        var records = response.Answers.MxRecords().ToList();
        if (records.Count > 0)
        {
            var ttl = TimeSpan.FromSeconds(records.Min(r => r.TimeToLive));
            var exchanges = records
                .Select(r => (Preference: (int)r.Preference, Host: r.Exchange.Value.TrimEnd('.').ToLowerInvariant()))
                .Where(r => r.Host.Length > 0)
                .OrderBy(r => r.Preference)
                .ToList();
            if (exchanges.Count == 0)
            {
                // RFC 7505: a single MX of "." says the domain accepts no mail at all.
                return DomainAnswer.Fails(SendOutcome.Bounce(556, $"5.1.10 recipient domain {domain} does not accept mail (null MX)"), ttl);
            }

            return new DomainAnswer(exchanges, null, ttl);
        }

        // No MX: the domain itself is the mail host (RFC 5321 5.1), if it has an address.
        var host = await LookupHostAsync(domain).ConfigureAwait(false);
        if (host.Addresses.Count > 0)
        {
            Store(_hosts, domain, host);
            return new DomainAnswer([(0, domain)], null, host.Ttl);
        }

        return host.Error is not null
            ? DomainAnswer.Fails(new SendOutcome.Retry(451, $"4.4.3 DNS lookup of {domain} failed: {host.Error}"), FailureTtl)
            : DomainAnswer.Fails(SendOutcome.Bounce(550, $"5.1.2 recipient domain {domain} has no MX or address records"), NegativeTtlOf(response));
    }

    private async Task<HostAnswer> LookupHostAsync(string host)
    {
        var v4 = QueryAsync(host, QueryType.A);
        var v6 = QueryAsync(host, QueryType.AAAA);
        var (a, aError) = await v4.ConfigureAwait(false);
        var (aaaa, aaaaError) = await v6.ConfigureAwait(false);

        var addresses = new List<IPAddress>();
        var ttl = MaxTtl;
        string? error = null;
        foreach (var (response, queryError) in new[] { (a, aError), (aaaa, aaaaError) })
        {
            if (response is null || IsTransient(response))
            {
                error ??= queryError ?? response!.ErrorMessage;
                continue;
            }

            foreach (var record in response.Answers.OfType<AddressRecord>())
            {
                addresses.Add(record.Address);
                ttl = TimeSpan.FromSeconds(Math.Min(ttl.TotalSeconds, record.TimeToLive));
            }
        }

        if (addresses.Count > 0)
        {
            return new HostAnswer(addresses, null, ttl);
        }

        if (error is not null)
        {
            LogDnsFailure(_logger, host, "A/AAAA", error);
            return new HostAnswer([], error, FailureTtl);
        }

        return new HostAnswer([], null, a is null ? NegativeTtl : NegativeTtlOf(a));
    }

    private async Task<(IDnsQueryResponse? Response, string? Error)> QueryAsync(string name, QueryType type)
    {
        try
        {
            return (await _dns.Value.QueryAsync(name, type, QueryClass.IN).ConfigureAwait(false), null);
        }
        catch (DnsResponseException e)
        {
            return (null, e.Message);
        }
        catch (Exception e) when (e is System.Net.Sockets.SocketException or TimeoutException or OperationCanceledException or ArgumentException)
        {
            return (null, e.Message);
        }
    }

    private static bool IsTransient(IDnsQueryResponse response) =>
        response.Header.ResponseCode is not (DnsHeaderResponseCode.NoError or DnsHeaderResponseCode.NotExistentDomain);

    private static TimeSpan NegativeTtlOf(IDnsQueryResponse response) =>
        response.Authorities.SoaRecords().FirstOrDefault() is { } soa
            ? TimeSpan.FromSeconds(Math.Min(soa.TimeToLive, soa.Minimum))
            : NegativeTtl;

    private static List<string> Shuffled(IReadOnlyList<(int Preference, string Host)> exchanges)
    {
        var hosts = new List<string>(Math.Min(exchanges.Count, MaxHosts));
        for (var start = 0; start < exchanges.Count && hosts.Count < MaxHosts;)
        {
            var end = start;
            while (end < exchanges.Count && exchanges[end].Preference == exchanges[start].Preference)
            {
                end++;
            }

            // Equal preferences share the load (RFC 5321 5.1): a fresh order for every message.
            var group = exchanges.Skip(start).Take(end - start).Select(e => e.Host).ToArray();
            Random.Shared.Shuffle(group);
            hosts.AddRange(group.Take(MaxHosts - hosts.Count));
            start = end;
        }

        return hosts;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "DNS lookup of {Type} for {Name} failed: {Reason}")]
    private static partial void LogDnsFailure(ILogger logger, string name, string type, string reason);

    private interface ICacheable
    {
        TimeSpan Ttl { get; }
    }

    private sealed record Cached<T>(T Value, DateTimeOffset Expires);

    private sealed record DomainAnswer(IReadOnlyList<(int Preference, string Host)> Exchanges, SendOutcome? Failure, TimeSpan Ttl) : ICacheable
    {
        public static DomainAnswer Fails(SendOutcome failure, TimeSpan ttl) => new([], failure, ttl);
    }

    /// <summary>Addresses of a mail host, or the DNS error that kept us from knowing them.</summary>
    internal sealed record HostAnswer(IReadOnlyList<IPAddress> Addresses, string? Error, TimeSpan Ttl) : ICacheable;
}

using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Logging;
using MQTTnet;
using MQTTnet.Protocol;
using MqttIm.PushBridge;
using MqttIm.PushBridge.Vendors;
using MqttIm.PushBridge.Vendors.Apns;

namespace MqttIm.Bench;

/// <summary>
/// Push: notifications/s through the bridge's APNs client to a local fake APNs (TLS, HTTP/2, answers 200) over one
/// connection and over a small pool; and the end-to-end delay from publishing a 1:1 message to an offline user to the
/// vendor request arriving (broker process, merge window 0).
/// </summary>
internal static class PushScenario
{
    public static async Task RunAsync(string brokerDll, BenchOptions options, Action<ResultRow> emit)
    {
        await using var apns = await FakeApns.StartAsync();
        var notifications = options.Quick ? 5_000 : 50_000;
        foreach (var connections in new[] { 1, 4 })
        {
            emit(await ThroughputAsync(apns, connections, notifications, concurrency: 512));
        }

        emit(await EndToEndAsync(brokerDll, apns, users: options.Quick ? 100 : 500));
    }

    private static async Task<ResultRow> ThroughputAsync(FakeApns apns, int connections, int count, int concurrency)
    {
        var push = apns.Options(connections);
        using var channel = new ApnsChannel(push.Apns[0], push, TimeProvider.System);
        var notification = new PushNotification("alice", "hello", 1, "c-1", 1, DateTimeOffset.UtcNow.AddHours(1), new Dictionary<string, string> { ["conversationId"] = "c2c:a:b" });
        await channel.SendAsync(notification, [new VendorTarget("warmup", "production")], default); // connect + TLS outside the measurement
        var histogram = new LatencyHistogram();
        var next = -1;
        var failures = 0;
        var cpu = ProcInfo.CpuSeconds(0);
        var machine = ProcInfo.MachineBusySeconds();
        var watch = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async _ =>
        {
            while (Interlocked.Increment(ref next) < count)
            {
                var started = Stopwatch.GetTimestamp();
                var reply = (await channel.SendAsync(notification, [new VendorTarget("t" + next, "production")], default))[0];
                histogram.RecordTicks(Stopwatch.GetTimestamp() - started);
                if (reply.Kind != VendorReplyKind.Delivered)
                {
                    Interlocked.Increment(ref failures);
                }
            }
        }));
        watch.Stop();
        var used = ProcInfo.CpuSeconds(0) - cpu;
        var other = ProcInfo.MachineBusySeconds() - machine - used;
        var rate = count / watch.Elapsed.TotalSeconds;
        return new ResultRow("push", "MqttIm", Fmt.Inv($"fake APNs, {connections} HTTP/2 connection(s), {concurrency} in flight"), Fmt.Inv($"{rate:N0} pushes/s"),
            Micros(histogram.Percentile(50)), Micros(histogram.Percentile(99)), Micros(histogram.MaxMicros),
            Fmt.Inv($"{count:N0} requests, {failures} not 200; {used * 1e6 / count:N0} µs CPU per push for the bridge's client and the fake APNs together (one process)"),
            double.NaN, used, watch.Elapsed.TotalSeconds, -1) { Value = rate, OtherCpuSeconds = other };
    }

    private static async Task<ResultRow> EndToEndAsync(string brokerDll, FakeApns apns, int users)
    {
        var push = apns.Options(1);
        var app = push.Apns[0];
        await using var broker = await MqttImBroker.StartAsync(brokerDll,
            $"--Push:TrustedCertificatePath={push.TrustedCertificatePath}", "--Push:MergeWindow=00:00:00", "--Push:RateLimitPerDevice=0",
            $"--Push:Apns:0:BundleId={app.BundleId}", $"--Push:Apns:0:TeamId={app.TeamId}", $"--Push:Apns:0:KeyId={app.KeyId}", $"--Push:Apns:0:KeyPath={app.KeyPath}",
            $"--Push:Apns:0:BaseUrl={app.BaseUrl}", $"--Push:Apns:0:SandboxBaseUrl={app.BaseUrl}");
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{broker.HttpPort}") };
        http.DefaultRequestHeaders.Add("X-Admin-Key", broker.AdminKey);
        var run = Guid.NewGuid().ToString("N")[..6];
        for (var i = 0; i < users; i++)
        {
            var response = await http.PostAsJsonAsync("/api/admin/push/tokens", new { userId = $"off{run}{i}", token = new { vendor = "apns", appId = app.BundleId, token = $"e2e{run}{i}", deviceId = "phone" } });
            response.EnsureSuccessStatusCode();
        }

        using var sender = new MqttClientFactory().CreateMqttClient();
        await sender.ConnectAsync(broker.ClientOptions("pushbench", "pushbench-sender").Build());
        var histogram = new LatencyHistogram();
        var cpu = broker.CpuSeconds();
        var self = ProcInfo.CpuSeconds(0);
        var machine = ProcInfo.MachineBusySeconds();
        var watch = Stopwatch.StartNew();
        for (var i = 0; i < users; i++)
        {
            var token = $"e2e{run}{i}";
            var started = Stopwatch.GetTimestamp();
            await sender.PublishAsync(new MqttApplicationMessageBuilder().WithTopic($"im/c2c/off{run}{i}").WithPayload("""{"text":"wake up"}""")
                .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build());
            var arrived = await apns.WaitForAsync(token, TimeSpan.FromSeconds(10));
            histogram.RecordTicks(arrived - started);
        }

        watch.Stop();
        return new ResultRow("push", "MqttIm", Fmt.Inv($"offline 1:1 message → APNs request, {users} users one at a time, merge window 0"), "–",
            Micros(histogram.Percentile(50)), Micros(histogram.Percentile(99)), Micros(histogram.MaxMicros), "publish start to the fake APNs receiving the request",
            broker.CpuSeconds() - cpu, ProcInfo.CpuSeconds(0) - self, watch.Elapsed.TotalSeconds, broker.ResidentBytes())
        {
            OtherCpuSeconds = ProcInfo.MachineBusySeconds() - machine - (broker.CpuSeconds() - cpu) - (ProcInfo.CpuSeconds(0) - self),
        };
    }

    private static string Micros(long micros) => micros >= 1000 ? Fmt.Inv($"{micros / 1000.0:F1} ms") : Fmt.Inv($"{micros} µs");

    /// <summary>A minimal APNs: TLS with a self-signed certificate, HTTP/2, 200 for every <c>/3/device/{token}</c>; remembers when each token arrived.</summary>
    private sealed class FakeApns : IAsyncDisposable
    {
        private readonly ConcurrentDictionary<string, long> _arrivals = new(StringComparer.Ordinal);
        private readonly string _directory = Path.Combine(Path.GetTempPath(), "mqttim-bench-push-" + Guid.NewGuid().ToString("N")[..8]);
        private WebApplication _app = null!;
        private string _baseUrl = "";

        public static async Task<FakeApns> StartAsync()
        {
            var fake = new FakeApns();
            Directory.CreateDirectory(fake._directory);
            using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var request = new CertificateRequest("CN=fake-apns", key, HashAlgorithmName.SHA256);
            var san = new SubjectAlternativeNameBuilder();
            san.AddIpAddress(IPAddress.Loopback);
            request.CertificateExtensions.Add(san.Build());
            using var selfSigned = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
            var certificate = X509CertificateLoader.LoadPkcs12(selfSigned.Export(X509ContentType.Pfx), null);
            File.WriteAllText(Path.Combine(fake._directory, "cert.pem"), certificate.ExportCertificatePem());
            using var signing = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            File.WriteAllText(Path.Combine(fake._directory, "AuthKey.p8"), signing.ExportPkcs8PrivateKeyPem());

            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.ConfigureKestrel(k =>
            {
                k.Limits.Http2.MaxStreamsPerConnection = 1000; // Apple allows up to 1,000 concurrent streams per connection
                k.Listen(IPAddress.Loopback, 0, l =>
                {
                    l.Protocols = HttpProtocols.Http2;
                    l.UseHttps(certificate);
                });
            });
            fake._app = builder.Build();
            fake._app.MapPost("/3/device/{token}", (string token) =>
            {
                _ = fake._arrivals.TryAdd(token, Stopwatch.GetTimestamp());
                return Results.Ok();
            });
            await fake._app.StartAsync();
            fake._baseUrl = "https://127.0.0.1:" + new Uri(fake._app.Urls.First()).Port;
            return fake;
        }

        public PushOptions Options(int connections) => new()
        {
            TrustedCertificatePath = Path.Combine(_directory, "cert.pem"),
            Apns = [new ApnsAppOptions
            {
                BundleId = "com.example.bench", TeamId = "TEAM", KeyId = "KEY", KeyPath = Path.Combine(_directory, "AuthKey.p8"),
                BaseUrl = _baseUrl, SandboxBaseUrl = _baseUrl, Connections = connections,
            }],
        };

        public async Task<long> WaitForAsync(string token, TimeSpan timeout)
        {
            var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
            while (Stopwatch.GetTimestamp() < deadline)
            {
                if (_arrivals.TryGetValue(token, out var at))
                {
                    return at;
                }

                await Task.Yield();
            }

            throw new TimeoutException($"no APNs request for {token} within {timeout}");
        }

        public async ValueTask DisposeAsync()
        {
            await _app.DisposeAsync();
            Directory.Delete(_directory, recursive: true);
        }
    }
}

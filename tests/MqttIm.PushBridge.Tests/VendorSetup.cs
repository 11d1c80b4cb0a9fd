using MqttIm.PushBridge.Vendors;
using MqttIm.PushBridge.Vendors.Apns;
using MqttIm.PushBridge.Vendors.Fcm;
using MqttIm.PushBridge.Vendors.Hms;

namespace MqttIm.PushBridge.Tests;

/// <summary>Credential files and options pointing the bridge's vendor clients at one <see cref="FakeVendorServer"/>.</summary>
public sealed class VendorSetup : IDisposable
{
    public const string Bundle = "com.example.chat";
    public const string FcmApp = "android-chat";
    public const string HmsApp = "104857600";

    public VendorSetup(FakeVendorServer server)
    {
        Server = server;
        System.IO.Directory.CreateDirectory(Directory);
        File.WriteAllText(KeyPath, server.ApnsKeyPem);
        File.WriteAllText(ServiceAccountPath, server.ServiceAccountJson());
        File.WriteAllText(HmsSecretPath, FakeVendorServer.HmsClientSecret);
        CertificatePath = server.WriteCertificate(this.Directory);
    }

    public FakeVendorServer Server { get; }

    public string Directory { get; } = Path.Combine(Path.GetTempPath(), "mqttim-push-" + Guid.NewGuid().ToString("N")[..10]);

    public string KeyPath => Path.Combine(Directory, "AuthKey.p8");

    public string ServiceAccountPath => Path.Combine(Directory, "service-account.json");

    public string HmsSecretPath => Path.Combine(Directory, "hms.secret");

    public string CertificatePath { get; }

    public PushOptions Options(Action<PushOptions>? change = null)
    {
        var options = new PushOptions
        {
            TrustedCertificatePath = CertificatePath,
            RetryBaseDelay = TimeSpan.FromMilliseconds(50),
            Apns = [new ApnsAppOptions
            {
                BundleId = Bundle, TeamId = FakeVendorServer.TeamId, KeyId = FakeVendorServer.KeyId, KeyPath = KeyPath, BaseUrl = Server.BaseUrl, SandboxBaseUrl = Server.BaseUrl,
            }],
            Fcm = [new FcmAppOptions { AppId = FcmApp, ServiceAccountPath = ServiceAccountPath, BaseUrl = Server.BaseUrl }],
            Hms = [new HmsAppOptions { AppId = HmsApp, ClientSecretPath = HmsSecretPath, TokenUrl = Server.HmsTokenUrl, BaseUrl = Server.BaseUrl }],
        };
        change?.Invoke(options);
        return options;
    }

    /// <summary>The broker's command-line settings for the same apps.</summary>
    public string[] BrokerArgs() =>
    [
        $"--Push:TrustedCertificatePath={CertificatePath}",
        $"--Push:Apns:0:BundleId={Bundle}", $"--Push:Apns:0:TeamId={FakeVendorServer.TeamId}", $"--Push:Apns:0:KeyId={FakeVendorServer.KeyId}",
        $"--Push:Apns:0:KeyPath={KeyPath}", $"--Push:Apns:0:BaseUrl={Server.BaseUrl}", $"--Push:Apns:0:SandboxBaseUrl={Server.BaseUrl}",
        $"--Push:Fcm:0:AppId={FcmApp}", $"--Push:Fcm:0:ServiceAccountPath={ServiceAccountPath}", $"--Push:Fcm:0:BaseUrl={Server.BaseUrl}",
        $"--Push:Hms:0:AppId={HmsApp}", $"--Push:Hms:0:ClientSecretPath={HmsSecretPath}", $"--Push:Hms:0:TokenUrl={Server.HmsTokenUrl}", $"--Push:Hms:0:BaseUrl={Server.BaseUrl}",
    ];

    public static PushNotification Notification(int priority = 1, string collapseId = "c-1", int badge = 3) => new("alice", "hi bob", badge, collapseId, priority,
        DateTimeOffset.UtcNow.AddHours(1), new Dictionary<string, string> { ["conversationId"] = "c2c:alice:bob", ["pushId"] = "j1", ["count"] = "1" });

    internal ApnsChannel Apns(TimeProvider? time = null, Action<PushOptions>? change = null)
    {
        var options = Options(change);
        return new ApnsChannel(options.Apns[0], options, time ?? TimeProvider.System);
    }

    internal FcmChannel Fcm(TimeProvider? time = null) => new(Options().Fcm[0], Options(), time ?? TimeProvider.System);

    internal HmsChannel Hms(TimeProvider? time = null) => new(Options().Hms[0], Options(), time ?? TimeProvider.System);

    public void Dispose()
    {
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // best effort
        }
    }
}

/// <summary>One fake vendor server for a test class.</summary>
public sealed class FakeVendorFixture : IAsyncLifetime
{
    public FakeVendorServer Server { get; private set; } = null!;

    public VendorSetup Setup { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Server = await FakeVendorServer.StartAsync();
        Setup = new VendorSetup(Server);
    }

    public async Task DisposeAsync()
    {
        Setup.Dispose();
        await Server.DisposeAsync();
    }
}

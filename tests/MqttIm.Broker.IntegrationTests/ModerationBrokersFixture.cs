using MqttIm.Testing;

namespace MqttIm.Broker.IntegrationTests;

/// <summary>
/// Two brokers for the moderation tests: <see cref="Masking"/> with a tight rate limit (5 per second, burst 5) and
/// sensitive words masked; <see cref="Rejecting"/> with the default rate limit and sensitive words (from a file) refused.
/// </summary>
public sealed class ModerationBrokersFixture : IAsyncLifetime
{
    public const int Rate = 5;
    public const int Burst = 5;

    private readonly string _wordsFile = Path.Combine(Path.GetTempPath(), $"mqttim-words-{Guid.NewGuid():N}.txt");

    public BrokerProcess Masking { get; private set; } = null!;

    public BrokerProcess Rejecting { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        await File.WriteAllTextAsync(_wordsFile, "# words refused by the rejecting broker\nbadword\n坏词\n");
        var masking = BrokerProcess.StartAsync(
            $"--Moderation:PublishesPerSecond={Rate}",
            $"--Moderation:PublishBurst={Burst}",
            "--Moderation:SensitiveWords:0=badword",
            "--Moderation:SensitiveWords:1=坏词",
            "--Moderation:SensitiveWordMode=Mask");
        var rejecting = BrokerProcess.StartAsync(
            $"--Moderation:SensitiveWordsFile={_wordsFile}",
            "--Moderation:SensitiveWordMode=Reject");
        Masking = await masking;
        Rejecting = await rejecting;
    }

    public async Task DisposeAsync()
    {
        await Masking.DisposeAsync();
        await Rejecting.DisposeAsync();
        File.Delete(_wordsFile);
    }
}

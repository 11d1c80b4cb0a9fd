namespace MqttIm.Testing;

/// <summary>What a test client needs of a broker: where it listens and a token for a user. A process (<see cref="BrokerProcess"/>) or one hosted in the test.</summary>
public interface ITestBroker
{
    int MqttPort { get; }

    int HttpPort { get; }

    string Token(string userId, TimeSpan? lifetime = null);
}

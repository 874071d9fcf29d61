//! The fixtures of the tests against the moto server that `scripts/test` starts on loopback.

use std::time::{Duration, Instant};

use aws_sdk_sqs::Client;

/// An SQS client for the emulator.
pub(crate) async fn sqs_client() -> Client {
    shared::testing::loopback_endpoint();
    Client::new(&shared::aws::load_sdk_config().await)
}

/// A new queue of this test's own.
pub(crate) async fn new_queue(client: &Client, test: &str) -> String {
    let name = format!("{test}-{}", uuid::Uuid::new_v4().simple());
    let output = client.create_queue().queue_name(name).send().await.expect("queue created");
    output.queue_url().expect("queue URL").to_owned()
}

/// Receives and deletes messages until `expected` have arrived and the queue then stays empty for one
/// more poll (so extras are caught too), or 60 s pass.
pub(crate) async fn receive_all(client: &Client, queue_url: &str, expected: usize) -> Vec<String> {
    let mut bodies = Vec::new();
    let give_up = Instant::now() + Duration::from_secs(60);
    while Instant::now() < give_up {
        let output = client
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .visibility_timeout(300)
            .send()
            .await
            .expect("receive");
        let messages = output.messages();
        if messages.is_empty() && bodies.len() >= expected {
            break;
        }
        for message in messages {
            bodies.push(message.body().expect("body").to_owned());
            client
                .delete_message()
                .queue_url(queue_url)
                .receipt_handle(message.receipt_handle().expect("receipt handle"))
                .send()
                .await
                .expect("delete");
        }
    }
    bodies
}
